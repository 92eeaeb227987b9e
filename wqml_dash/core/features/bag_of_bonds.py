"""Bag of Bonds (Hansen et al., J. Phys. Chem. Lett. 6, 2326 (2015)), the paper's outlook for W1.

The entries of the Coulomb matrix are put into *bags*: one per element for the diagonal
``0.5 Z^2.4`` and one per element pair (A, B), A <= B, for ``Z_A Z_B / r`` (r in Angstrom).
Within a bag the entries are sorted in descending order and padded with zeros to the largest
bag over the data set; the bags are concatenated in a fixed order (`BagLayout`). The vector
does not depend on the atom order, so the ``order`` of a series is irrelevant for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np


@dataclass(frozen=True)
class BagLayout:
    """Where each bag sits in a Bag-of-Bonds vector.

    Attributes
    ----------
    elements : (k,) sorted nuclear charges the layout knows
    bags : bag labels in vector order: ``(Z,)`` for the diagonal bag of an element, then
        ``(Z_A, Z_B)`` with ``Z_A <= Z_B`` for the pair bags
    sizes : (n_bags,) entries per bag (the largest count over the data set)
    """

    elements: tuple[int, ...]
    bags: tuple[tuple[int, ...], ...]
    sizes: tuple[int, ...]

    @property
    def offsets(self) -> np.ndarray:
        """(n_bags + 1,) start of each bag in the vector."""
        return np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)

    @property
    def length(self) -> int:
        """Entries of a Bag-of-Bonds vector."""
        return int(sum(self.sizes))

    def bag_table(self) -> np.ndarray:
        """(k, k + 1) int64: column 0 the diagonal bag of element i, column j + 1 the bag of pair (i, j)."""
        k = len(self.elements)
        table = np.full((k, k + 1), -1, dtype=np.int64)
        index = {bag: b for b, bag in enumerate(self.bags)}
        for i, zi in enumerate(self.elements):
            table[i, 0] = index[(zi,)]
            for j, zj in enumerate(self.elements):
                table[i, j + 1] = index[(min(zi, zj), max(zi, zj))]
        return table


def layout_from_counts(elements: np.ndarray, counts: np.ndarray) -> BagLayout:
    """The bag layout that fits every molecule of a data set.

    Parameters
    ----------
    elements : (k,) sorted nuclear charges
    counts : (n_molecules, k) atoms of each element per molecule

    Returns
    -------
    BagLayout
    """
    elements = [int(z) for z in elements]
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, len(elements))
    bags: list[tuple[int, ...]] = []
    sizes: list[int] = []
    for i, z in enumerate(elements):
        bags.append((z,))
        sizes.append(int(counts[:, i].max(initial=0)))
    for i, za in enumerate(elements):
        for j in range(i, len(elements)):
            ci, cj = counts[:, i], counts[:, j]
            pairs = ci * (ci - 1) // 2 if i == j else ci * cj
            bags.append((za, elements[j]))
            sizes.append(int(pairs.max(initial=0)))
    return BagLayout(tuple(elements), tuple(bags), tuple(sizes))


def dataset_layout(dataset) -> BagLayout:
    """`layout_from_counts` for a `MolecularDataset` (for QM9: 5 elements, 20 bags)."""
    elements, element_index = np.unique(dataset.charges, return_inverse=True)
    return layout_from_counts(elements, _element_counts(element_index, dataset.offsets, elements.size))


def _element_counts(element_index: np.ndarray, offsets: np.ndarray, k: int) -> np.ndarray:
    """(n_molecules, k) atoms of each element per molecule, from per-atom element indices."""
    n_mol = offsets.size - 1
    molecule = np.repeat(np.arange(n_mol), np.diff(offsets))
    return np.bincount(molecule * k + element_index, minlength=n_mol * k).reshape(n_mol, k)


@numba.njit(parallel=True, cache=True)
def _bob_vectors(charges, element_index, coordinates, offsets, table, bag_offsets, out):
    n_mol = offsets.shape[0] - 1
    n_bags = bag_offsets.shape[0] - 1
    for m in numba.prange(n_mol):
        lo = offsets[m]
        n = offsets[m + 1] - lo
        fill = np.zeros(n_bags, dtype=np.int64)
        for i in range(n):
            zi = float(charges[lo + i])
            b = table[element_index[lo + i], 0]
            out[m, bag_offsets[b] + fill[b]] = 0.5 * zi ** 2.4
            fill[b] += 1
            for j in range(i + 1, n):
                dx = coordinates[lo + i, 0] - coordinates[lo + j, 0]
                dy = coordinates[lo + i, 1] - coordinates[lo + j, 1]
                dz = coordinates[lo + i, 2] - coordinates[lo + j, 2]
                b = table[element_index[lo + i], element_index[lo + j] + 1]
                out[m, bag_offsets[b] + fill[b]] = zi * charges[lo + j] / np.sqrt(dx * dx + dy * dy + dz * dz)
                fill[b] += 1
        for b in range(n_bags):
            k = fill[b]
            if k > 1:
                start = bag_offsets[b]
                out[m, start:start + k] = np.sort(out[m, start:start + k])[::-1]


def bob_vectors(charges: np.ndarray, coordinates: np.ndarray, offsets: np.ndarray,
                layout: BagLayout) -> np.ndarray:
    """Bag-of-Bonds vectors of many molecules stored back to back (compiled, parallel).

    Parameters
    ----------
    charges : (n_atoms_total,) nuclear charges, each one of ``layout.elements``
    coordinates : (n_atoms_total, 3) Angstrom
    offsets : (n_molecules + 1,) atom offsets; molecule i is ``offsets[i]:offsets[i+1]``
    layout : the bags (`dataset_layout`)

    Returns
    -------
    (n_molecules, layout.length) float64; each bag sorted descending, zero-padded at its end

    Raises
    ------
    ValueError
        if an element is not in the layout or a molecule overflows a bag.
    """
    charges = np.asarray(charges, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    elements = np.asarray(layout.elements, dtype=np.int64)
    element_index = np.searchsorted(elements, charges)
    if charges.size and (element_index.max() >= elements.size or
                         np.any(elements[np.minimum(element_index, elements.size - 1)] != charges)):
        unknown = sorted(set(charges.tolist()) - set(layout.elements))
        raise ValueError(f"elements {unknown} are not in the bag layout {list(layout.elements)}")
    n_mol = offsets.size - 1
    if n_mol:
        counts = _element_counts(element_index, offsets, elements.size)
        need = layout_from_counts(elements, counts).sizes
        if any(a > b for a, b in zip(need, layout.sizes, strict=True)):
            raise ValueError("a molecule has more entries in a bag than the layout holds; "
                             "build the layout from a data set that contains it")
    out = np.zeros((n_mol, layout.length))
    _bob_vectors(charges, element_index.astype(np.int64), np.ascontiguousarray(coordinates, dtype=np.float64),
                 offsets, layout.bag_table(), layout.offsets, out)
    return out


def dataset_bob_vectors(dataset, rows: np.ndarray | None = None, layout: BagLayout | None = None) -> np.ndarray:
    """`bob_vectors` for molecules ``rows`` of a `MolecularDataset` (all by default).

    ``layout`` defaults to the one of the whole data set, so vectors of any subset line up
    (for QM9: 713 entries in 20 bags).
    """
    layout = dataset_layout(dataset) if layout is None else layout
    rows = np.arange(len(dataset)) if rows is None else np.asarray(rows, dtype=np.int64)
    atom_rows, offsets = dataset.atom_rows(rows)
    return bob_vectors(dataset.charges[atom_rows], dataset.coordinates[atom_rows], offsets, layout)
