"""Is a molecule inside what a saved model was trained on? Elements, size and geometry source.

A KRR model extrapolates silently: a chlorine compound given to a model of QM9 (H, C, N, O, F)
gets a number like any other. `check_domain` compares one molecule with a model's ``training``
record (`model_io.training_summary`) and returns the warnings a user should read next to the
prediction, or raises `OutOfDomainError` where the model cannot represent the molecule at all.
"""

from __future__ import annotations

import numpy as np

from ..data.dataset import element_symbol
from ..features.transformers import describe_source, molecule_batch


class OutOfDomainError(ValueError):
    """The model cannot represent the molecule (more atoms than its Coulomb matrices hold, or an
    element without a bag in its Bag of Bonds)."""


def _symbols(charges) -> str:
    return ", ".join(element_symbol(int(z)) for z in charges)


def check_domain(training: dict, molecule) -> list[str]:
    """Warnings for one molecule against a model's training record; raises where it cannot be represented.

    Parameters
    ----------
    training : the ``training`` record of a saved model (`model_io.training_summary`): elements,
        max_atoms, geometry_sources, representation
    molecule : a molecule as the transformers take it (a Molecule, a Geometry, an ase.Atoms, a
        (charges, coordinates) pair)

    Returns
    -------
    list of one-line warnings (empty: inside the training domain as far as it is recorded)

    Raises
    ------
    OutOfDomainError
        more atoms than the model's padded Coulomb-matrix size, or (Bag of Bonds) an element the
        bag layout has no bag for
    """
    batch = molecule_batch([molecule])
    charges = batch.charges
    n = int(charges.size)
    rep = training.get("representation") or {}
    elements = training.get("elements")
    unseen = np.setdiff1d(np.unique(charges), elements) if elements is not None else np.zeros(0, dtype=int)
    if rep.get("name") == "coulomb_matrix" and n > int(rep["size"]):
        raise OutOfDomainError(f"the molecule has {n} atoms; this model's Coulomb matrices hold at most "
                               f"{rep['size']} (its padded size), so it cannot be represented")
    if rep.get("name") == "bag_of_bonds" and unseen.size:
        raise OutOfDomainError(f"the model's Bag of Bonds has no bags for {_symbols(unseen)} (it knows "
                               f"{_symbols(elements)}), so the molecule cannot be represented")
    warnings = []
    if unseen.size:
        warnings.append(f"the molecule contains {_symbols(unseen)}, which no training molecule has (the model "
                        f"was trained on {_symbols(elements)}): the prediction is an extrapolation")
    max_atoms = training.get("max_atoms")
    if max_atoms is not None and n > int(max_atoms):
        warnings.append(f"the molecule has {n} atoms, more than the largest training molecule ({max_atoms})")
    sources = [s for s in (training.get("geometry_sources") or []) if s != "unknown"]
    query = batch.sources[0]
    if sources and query != "unknown" and query not in sources:
        warnings.append(f"its geometry is from {describe_source(query)}, while the model was trained on "
                        f"{' and '.join(describe_source(s) for s in sources)}: a geometry of another method "
                        "shifts the prediction")
    return warnings
