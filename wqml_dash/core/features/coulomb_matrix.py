"""Coulomb matrices (paper eq. 2): padding, the three atom orders, and vectorisation.

Conventions (DESIGN.md): ``C_II = 0.5 Z_I^2.4``, ``C_IJ = Z_I Z_J / |R_I - R_J|`` with R in
Angstrom; padded with zeros to ``size``; vectorised as the upper triangle including the
diagonal, row-major, ``size * (size + 1) // 2`` entries.
"""

from __future__ import annotations

from typing import Literal

import numba
import numpy as np

Order = Literal["unsorted", "sorted", "random"]
ORDERS: tuple[str, ...] = ("unsorted", "sorted", "random")


def vector_length(size: int) -> int:
    """Entries of a vectorised ``size x size`` Coulomb matrix: ``size * (size + 1) // 2``."""
    return size * (size + 1) // 2


def _check_order(order: str) -> None:
    if order not in ORDERS:
        raise ValueError(f"unknown order {order!r}; choose one of {list(ORDERS)}")


def coulomb_matrix(charges: np.ndarray, coordinates: np.ndarray, size: int | None = None) -> np.ndarray:
    """The (unsorted) Coulomb matrix of one molecule, zero-padded.

    Parameters
    ----------
    charges : (n,) nuclear charges
    coordinates : (n, 3) Angstrom
    size : padded size, at least n (default n)

    Returns
    -------
    (size, size) float64, atomic units of charge squared per Angstrom

    Raises
    ------
    ValueError
        if two atoms share a position (the matrix would be infinite) or shapes disagree.
    """
    z = np.asarray(charges, dtype=np.float64)
    r = np.asarray(coordinates, dtype=np.float64)
    n = z.shape[0]
    size = n if size is None else int(size)
    if r.shape != (n, 3):
        raise ValueError(f"coordinates must have shape ({n}, 3), got {r.shape}")
    if size < n:
        raise ValueError(f"size {size} is smaller than the molecule ({n} atoms)")
    dist = np.sqrt(((r[:, None, :] - r[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(dist, 1.0)
    if n > 1 and dist.min() <= 0.0:
        raise ValueError("two atoms share the same position")
    cm = np.zeros((size, size))
    cm[:n, :n] = np.outer(z, z) / dist
    cm[np.arange(n), np.arange(n)] = 0.5 * z ** 2.4
    return cm


def order_permutation(matrix: np.ndarray, n_atoms: int, order: Order = "sorted",
                      rng: np.random.Generator | None = None) -> np.ndarray:
    """Row order for a padded Coulomb matrix: (size,) int array, padding rows always last.

    ``sorted``: descending row L2 norm, ties kept in input order (stable).
    ``random``: a random permutation of the real atoms from ``rng``.
    """
    _check_order(order)
    size = matrix.shape[0]
    if order == "unsorted":
        return np.arange(size)
    if order == "sorted":
        norms = np.linalg.norm(matrix[:n_atoms], axis=1)
        head = np.argsort(-norms, kind="stable")
    else:
        head = (rng or np.random.default_rng()).permutation(n_atoms)
    return np.concatenate([head, np.arange(n_atoms, size)])


def vectorize(matrix: np.ndarray) -> np.ndarray:
    """Upper triangle including the diagonal, row-major: (size*(size+1)/2,)."""
    return matrix[np.triu_indices(matrix.shape[0])]


def unvectorize(vector: np.ndarray) -> np.ndarray:
    """Inverse of `vectorize` for a symmetric matrix: (d,) -> (size, size)."""
    size = int(round((np.sqrt(8 * vector.shape[-1] + 1) - 1) / 2))
    if vector_length(size) != vector.shape[-1]:
        raise ValueError(f"{vector.shape[-1]} is not a triangular number")
    m = np.zeros((size, size))
    iu = np.triu_indices(size)
    m[iu] = vector
    m.T[iu] = vector
    return m


def coulomb_vector(charges: np.ndarray, coordinates: np.ndarray, size: int | None = None,
                   order: Order = "sorted", seed: int = 0) -> np.ndarray:
    """Vectorised, ordered, padded Coulomb matrix of one molecule: (size*(size+1)/2,)."""
    cm = coulomb_matrix(charges, coordinates, size)
    perm = order_permutation(cm, len(charges), order, np.random.default_rng(seed))
    return vectorize(cm[np.ix_(perm, perm)])


@numba.njit(parallel=True, cache=True)
def _coulomb_vectors(charges, coordinates, offsets, local_perm, size, sort_rows, out):
    n_mol = offsets.shape[0] - 1
    for m in numba.prange(n_mol):
        lo = offsets[m]
        n = offsets[m + 1] - lo
        cm = np.zeros((n, n))
        for i in range(n):
            zi = float(charges[lo + i])
            cm[i, i] = 0.5 * zi ** 2.4
            for j in range(i + 1, n):
                dx = coordinates[lo + i, 0] - coordinates[lo + j, 0]
                dy = coordinates[lo + i, 1] - coordinates[lo + j, 1]
                dz = coordinates[lo + i, 2] - coordinates[lo + j, 2]
                v = zi * charges[lo + j] / np.sqrt(dx * dx + dy * dy + dz * dz)
                cm[i, j] = v
                cm[j, i] = v
        if sort_rows:
            norms = np.empty(n)
            for i in range(n):
                norms[i] = np.sqrt(np.sum(cm[i] * cm[i]))
            perm = np.argsort(-norms, kind="mergesort")  # mergesort is stable
        else:
            perm = local_perm[lo:lo + n]
        k = 0
        for i in range(size):
            for j in range(i, size):
                if i < n and j < n:
                    out[m, k] = cm[perm[i], perm[j]]
                else:
                    out[m, k] = 0.0
                k += 1


def coulomb_vectors(charges: np.ndarray, coordinates: np.ndarray, offsets: np.ndarray,
                    size: int, order: Order = "sorted", seed: int = 0,
                    random_keys: np.ndarray | None = None) -> np.ndarray:
    """Vectorised Coulomb matrices of many molecules stored back to back (compiled, parallel).

    Parameters
    ----------
    charges : (n_atoms_total,) nuclear charges
    coordinates : (n_atoms_total, 3) Angstrom
    offsets : (n_molecules + 1,) atom offsets; molecule i is ``offsets[i]:offsets[i+1]``
    size : padded size, at least the largest molecule
    order : ``unsorted``, ``sorted`` (descending row norm, stable) or ``random``
    seed : seeds the ``random`` order (equal inputs give equal outputs)
    random_keys : optional (n_atoms_total,) floats; the ``random`` order sorts each
        molecule's atoms by these keys instead of keys drawn from ``seed``

    Returns
    -------
    (n_molecules, size*(size+1)/2) float64
    """
    _check_order(order)
    offsets = np.asarray(offsets, dtype=np.int64)
    counts = np.diff(offsets)
    if counts.size and counts.max() > size:
        raise ValueError(f"size {size} is smaller than the largest molecule ({counts.max()} atoms)")
    if order == "random":
        keys = np.random.default_rng(seed).random(offsets[-1]) if random_keys is None else random_keys
        molecule = np.repeat(np.arange(counts.size), counts)
        local_perm = (np.lexsort((keys, molecule)) - np.repeat(offsets[:-1], counts)).astype(np.int64)
    else:
        local_perm = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1], counts)
    out = np.empty((counts.size, vector_length(size)))
    _coulomb_vectors(np.asarray(charges, dtype=np.int64), np.ascontiguousarray(coordinates, dtype=np.float64),
                     offsets, local_perm, size, order == "sorted", out)
    return out


def dataset_coulomb_vectors(dataset, rows: np.ndarray | None = None, order: Order = "sorted",
                            size: int | None = None, seed: int = 0) -> np.ndarray:
    """`coulomb_vectors` for molecules ``rows`` of a `MolecularDataset` (all by default).

    ``size`` defaults to the data set's largest molecule (29 for QM9: 435 entries). In the
    ``random`` order each molecule's permutation depends only on ``seed`` and the molecule
    itself, not on which other molecules are asked for.
    """
    _check_order(order)
    size = dataset.max_atoms if size is None else size
    rows = np.arange(len(dataset)) if rows is None else np.asarray(rows, dtype=np.int64)
    atom_rows, offsets = dataset.atom_rows(rows)
    keys = None
    if order == "random":
        keys = np.random.default_rng(seed).random(dataset.charges.size)[atom_rows]
    return coulomb_vectors(dataset.charges[atom_rows], dataset.coordinates[atom_rows], offsets,
                           size, order, seed, random_keys=keys)
