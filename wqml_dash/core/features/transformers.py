"""scikit-learn transformers from molecules to representation vectors: `CoulombMatrix`, `BagOfBonds`.

``make_pipeline(CoulombMatrix(order="sorted"), KernelRidge(metric="w1"))`` fits and predicts
molecules directly. A *molecule* here is any of:

- a ``(charges, coordinates)`` pair: (n,) nuclear charges and (n, 3) Angstrom;
- a `Geometry` (the same with a geometry source), as `dataset_molecules` returns them;
- a `wqml_dash.core.scan.molecule.Molecule` (``molecule_from_smiles``, ``molecule_from_qm9``, files);
- an ``ase.Atoms`` (positions in Angstrom).

``X`` is a list (or other sequence) of molecules, or a whole `MolecularDataset`. For
``cross_val_score`` and ``GridSearchCV`` use a list (they index ``X`` by rows):
``dataset_molecules(qm9, rows)``.

Each transformer learns in ``fit`` what the training molecules were: the padding size or bag
layout, the elements, the largest molecule and where the geometries came from (`sources_`,
see `geometry_source`). Saved models (`core.learn.model_io`) keep this, and ``wqml predict``
warns when a molecule lies outside it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .bag_of_bonds import BagLayout, _element_counts, bob_vectors, layout_from_counts
from .coulomb_matrix import ORDERS, coulomb_vectors

#: Geometry sources a transformer records (`geometry_source`), described for people.
SOURCES: dict[str, str] = {
    "QM9": "QM9's DFT geometries (B3LYP/6-31G(2df,p))",
    "SMILES": "an RDKit embedding of the SMILES (ETKDG, MMFF94)",
    "example": "teaching examples shipped with wqml-dash",
    "ase": "ase.Atoms of unstated origin",
    "unknown": "geometries of unstated origin",
}


class Geometry(NamedTuple):
    """One molecule's atoms and where its geometry came from.

    Attributes
    ----------
    charges : (n,) int nuclear charges
    coords : (n, 3) float, Angstrom
    source : a geometry source (`geometry_source`): 'QM9', 'SMILES', 'file:NAME', ...
    """

    charges: np.ndarray
    coords: np.ndarray
    source: str = "unknown"


def _source_of_label(label: str) -> str:
    """'qm9:12' -> 'QM9', 'smiles' -> 'SMILES', 'file:a.xyz@3' -> 'file:a.xyz', 'example:x' -> 'example'."""
    label = str(label)
    head = label.split(":", 1)[0].lower()
    if head == "qm9":
        return "QM9"
    if head == "smiles":
        return "SMILES"
    if head == "example":
        return "example"
    if head == "file":  # 'file:NAME', or 'file:NAME@K' for frame K of a file of several
        name, _, frame = label.rpartition("@")
        return name if name and frame.lstrip("-").isdigit() else label
    return label if label in SOURCES else "unknown"


def geometry_source(molecule) -> str:
    """Where a molecule's geometry came from, coarsely: 'QM9', 'SMILES', 'file:NAME', 'example',
    'ase' or 'unknown' (see `SOURCES`). A ``(charges, coordinates)`` pair is 'unknown'."""
    if hasattr(molecule, "get_atomic_numbers"):  # ase.Atoms
        info = getattr(molecule, "info", {}) or {}
        if "source" in info:
            return _source_of_label(info["source"])
        return "QM9" if "qm9_index" in info else "ase"
    source = getattr(molecule, "source", None)
    return "unknown" if source is None else _source_of_label(source)


def describe_source(source: str) -> str:
    """A phrase for people: 'QM9' -> "QM9's DFT geometries (B3LYP/6-31G(2df,p))"."""
    if source.startswith("file:"):
        return f"the file {source[5:]}"
    return SOURCES.get(source, source)


def _is_dataset(X) -> bool:
    return all(hasattr(X, a) for a in ("charges", "coordinates", "offsets", "index"))


def dataset_source(dataset) -> str:
    """The geometry source of a `MolecularDataset`: 'QM9', or 'file:NAME' for a data set from a file."""
    return "QM9" if getattr(dataset, "index_name", "") == "qm9_index" else f"file:{dataset.name}"


def dataset_molecules(dataset, rows=None) -> list[Geometry]:
    """Molecules ``rows`` (0-based row positions; all by default) of a `MolecularDataset` as a list
    of `Geometry`: what ``cross_val_score``, ``GridSearchCV`` and the transformers take."""
    rows = np.arange(len(dataset)) if rows is None else np.asarray(rows, dtype=np.int64)
    source = dataset_source(dataset)
    return [Geometry(*dataset.molecule(int(i)), source) for i in rows]


@dataclass(frozen=True)
class MoleculeBatch:
    """Molecules stored back to back: charges (N,) int64, coords (N, 3) Angstrom, offsets (m+1,),
    sources (m,) geometry sources."""

    charges: np.ndarray
    coords: np.ndarray
    offsets: np.ndarray
    sources: list[str]

    @property
    def n_atoms(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return self.offsets.size - 1


_HELP = ("a molecule is a (charges, coordinates) pair, a Geometry, a Molecule or an ase.Atoms; X is a list of "
         "them or a MolecularDataset")


def _one(item, k: int) -> tuple[np.ndarray, np.ndarray, str]:
    if hasattr(item, "get_atomic_numbers"):
        z, r = item.get_atomic_numbers(), item.get_positions()
    elif hasattr(item, "charges") and hasattr(item, "coords"):
        z, r = item.charges, item.coords
    elif isinstance(item, (tuple, list)) and len(item) == 2:
        z, r = item
    else:
        raise TypeError(f"molecule {k} is a {type(item).__name__}: {_HELP}")
    z = np.asarray(z)
    r = np.asarray(r, dtype=np.float64)
    if z.ndim != 1 or z.size == 0 or z.dtype.kind not in "iuf" or not np.array_equal(z, np.round(z)):
        raise ValueError(f"molecule {k}: charges must be a non-empty 1-d array of whole numbers")
    if r.shape != (z.size, 3) or not np.isfinite(r).all():
        raise ValueError(f"molecule {k}: coordinates must be {z.size} finite (x, y, z) rows, got shape {r.shape}")
    if z.min() < 1:
        raise ValueError(f"molecule {k}: nuclear charge {int(z.min())} is not an element")
    return z.astype(np.int64), r, geometry_source(item)


def molecule_batch(X) -> MoleculeBatch:
    """Any accepted ``X`` (see the module's docstring) as one `MoleculeBatch`."""
    if _is_dataset(X):
        return MoleculeBatch(np.asarray(X.charges, dtype=np.int64), np.asarray(X.coordinates, dtype=np.float64),
                             np.asarray(X.offsets, dtype=np.int64), [dataset_source(X)] * len(X))
    if hasattr(X, "get_atomic_numbers") or (hasattr(X, "charges") and hasattr(X, "coords")):
        raise TypeError("X is one molecule: pass a list of molecules, e.g. [molecule]")
    if isinstance(X, np.ndarray) and X.dtype != object:
        raise TypeError(f"X is a numeric array of shape {X.shape}: {_HELP} (representation vectors go to "
                        "KernelRidge directly)")
    if not isinstance(X, Sequence) and not isinstance(X, np.ndarray):
        X = list(X)
    parts = [_one(item, k) for k, item in enumerate(X)]
    if not parts:
        raise ValueError("no molecules given (0 samples)")
    counts = np.array([p[0].size for p in parts], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return MoleculeBatch(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                         offsets, [p[2] for p in parts])


def _random_keys(batch: MoleculeBatch, seed: int) -> np.ndarray:
    """(N,) keys for the 'random' order: each molecule's from ``seed`` and the molecule itself alone."""
    keys = np.empty(batch.charges.size)
    for lo, hi in zip(batch.offsets[:-1], batch.offsets[1:], strict=True):
        digest = zlib.crc32(batch.charges[lo:hi].tobytes() + np.ascontiguousarray(batch.coords[lo:hi]).tobytes())
        keys[lo:hi] = np.random.default_rng([int(seed), digest]).random(hi - lo)
    return keys


class _MoleculeTransformer(TransformerMixin, BaseEstimator):
    """What both transformers learn of their training molecules."""

    def _learn_domain(self, batch: MoleculeBatch) -> None:
        self.elements_ = np.unique(batch.charges)
        self.max_atoms_ = int(batch.n_atoms.max())
        self.sources_ = sorted(set(batch.sources))
        self.n_molecules_ = len(batch)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # molecules, not a numeric matrix
        tags.requires_fit = True
        return tags

    def training_domain(self) -> dict:
        """What the training molecules were: elements (nuclear charges), largest molecule (atoms),
        geometry sources, number of molecules. JSON-ready."""
        check_is_fitted(self)
        return {"elements": [int(z) for z in self.elements_], "max_atoms": self.max_atoms_,
                "geometry_sources": list(self.sources_), "molecules": self.n_molecules_}


class CoulombMatrix(_MoleculeTransformer):
    """Molecules -> vectorised, ordered, zero-padded Coulomb matrices (DESIGN.md's one definition).

    Parameters
    ----------
    order : 'sorted' (rows by descending norm, stable), 'random' (each molecule's atoms shuffled by
        ``seed`` and the molecule itself, so a molecule gets the same vector in any batch) or 'unsorted'
    size : padded size (atoms); None: the largest training molecule. A molecule larger than the
        size cannot be represented and is refused by ``transform``: when folds of one data set
        are transformed separately (``cross_val_score``), give the data set's largest molecule
        (QM9: 29) so that no validation molecule is larger than its training fold's.
    seed : seeds the 'random' order

    Attributes
    ----------
    size_ : the padded size used; vectors have ``size_ * (size_ + 1) // 2`` entries
    elements_ : (k,) sorted nuclear charges of the training molecules
    max_atoms_ : atoms of the largest training molecule
    sources_ : sorted geometry sources of the training molecules (`geometry_source`)
    n_molecules_ : training molecules
    """

    def __init__(self, order: str = "sorted", size: int | None = None, seed: int = 0):
        self.order = order
        self.size = size
        self.seed = seed

    def fit(self, X, y=None) -> CoulombMatrix:
        """Learn the padding size (and what the molecules were) from molecules X."""
        if self.order not in ORDERS:
            raise ValueError(f"unknown order {self.order!r}; choose one of {list(ORDERS)}")
        batch = molecule_batch(X)
        self._learn_domain(batch)
        if self.size is not None and int(self.size) < self.max_atoms_:
            raise ValueError(f"size={self.size} is smaller than the largest training molecule "
                             f"({self.max_atoms_} atoms)")
        self.size_ = self.max_atoms_ if self.size is None else int(self.size)
        return self

    def transform(self, X) -> np.ndarray:
        """(m, size_*(size_+1)/2) float64 vectorised Coulomb matrices of molecules X.

        Raises
        ------
        ValueError
            if a molecule has more atoms than ``size_``
        """
        check_is_fitted(self)
        batch = molecule_batch(X)
        too_big = np.flatnonzero(batch.n_atoms > self.size_)
        if too_big.size:
            k = int(too_big[0])
            raise ValueError(f"molecule {k} has {batch.n_atoms[k]} atoms, more than the {self.size_} this "
                             f"CoulombMatrix pads to (its largest training molecule, or its size); give "
                             f"size= the largest molecule of the whole data set")
        keys = _random_keys(batch, self.seed) if self.order == "random" else None
        return coulomb_vectors(batch.charges, batch.coords, batch.offsets, self.size_, self.order, self.seed,
                               random_keys=keys)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """``cm_I_J`` for entry (I, J) of the upper triangle, row-major."""
        check_is_fitted(self)
        i, j = np.triu_indices(self.size_)
        return np.array([f"cm_{a}_{b}" for a, b in zip(i, j, strict=True)], dtype=object)


class BagOfBonds(_MoleculeTransformer):
    """Molecules -> Bag-of-Bonds vectors (module `bag_of_bonds`).

    Parameters
    ----------
    layout : the bags to use, e.g. ``bag_of_bonds.dataset_layout(qm9)`` so that every molecule of
        the data set fits; None: the bags of the training molecules (a later molecule with another
        element, or more atoms of one, is then refused)

    Attributes
    ----------
    layout_ : the `BagLayout` used; ``transform`` refuses a molecule with an element outside it or
        more entries in a bag than it holds
    elements_, max_atoms_, sources_, n_molecules_ : of the training molecules, as for `CoulombMatrix`
    """

    def __init__(self, layout: BagLayout | None = None):
        self.layout = layout

    def fit(self, X, y=None) -> BagOfBonds:
        """Learn the bag layout (unless given) and what the molecules were from molecules X."""
        batch = molecule_batch(X)
        self._learn_domain(batch)
        if self.layout is not None:
            self.layout_ = self.layout
            self.transform(X)  # the training molecules must fit it
            return self
        index = np.searchsorted(self.elements_, batch.charges)
        self.layout_ = layout_from_counts(self.elements_, _element_counts(index, batch.offsets, self.elements_.size))
        return self

    def transform(self, X) -> np.ndarray:
        """(m, layout_.length) float64 Bag-of-Bonds vectors of molecules X."""
        check_is_fitted(self)
        batch = molecule_batch(X)
        return bob_vectors(batch.charges, batch.coords, batch.offsets, self.layout_)
