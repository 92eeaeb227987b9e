"""Molecular data: the `MolecularDataset` container and the QM9 loaders.

``load_qm9()`` gives the embedded QM9 (from the ``qm9pack`` package, cached);
``load_qm9_release(path_or_url)`` reads the original QM9 release.
"""

from .dataset import DEFAULT_TARGET, HARTREE_TO_KCAL, PROPERTIES, MolecularDataset, atomization_energy
from .qm9 import DataError, load_qm9, load_qm9_release

__all__ = ["DEFAULT_TARGET", "HARTREE_TO_KCAL", "PROPERTIES", "MolecularDataset",
           "atomization_energy", "DataError", "load_qm9", "load_qm9_release"]
