"""Pairwise L1, L2 and W1 distance matrices (compiled, parallel, float64).

W1 between two vectors x, y of d entries each is the 1-Wasserstein distance between their
empirical distributions (weight 1/d per entry). For equal d it is exactly
``mean(|sort(x) - sort(y)|)``: we sort every vector once and take L1 distances, so a W1 matrix
costs the same as an L1 matrix plus an ``O(n d log d)`` sort.
"""

from __future__ import annotations

from typing import Literal

import numba
import numpy as np

Metric = Literal["l1", "l2", "w1"]
METRICS: tuple[str, ...] = ("l1", "l2", "w1")

# Reassociation lets LLVM vectorise the inner sums; results stay float64 sums of the same
# terms, equal to a sequential sum up to rounding (relative 1e-15).
_FAST = {"reassoc", "nsz", "contract"}


def check_metric(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; choose one of {list(METRICS)}")


# The inner loops work on four rows of X against one row of Y at once (register blocking):
# each loaded y_k serves four sums, which roughly doubles the throughput of a plain pair loop
# (the loop is compute-bound, not memory-bound, for QM9-sized vectors). Each term (L1's
# |a - b|, L2's (a - b)^2) gets its own compiled inner loops; the drivers choose between them
# outside the loops, so every inner loop stays branch-free and vectorised.

@numba.njit(fastmath=_FAST, inline="always")
def _abs_diff(a, b):
    return abs(a - b)


@numba.njit(fastmath=_FAST, inline="always")
def _squared_diff(a, b):
    t = a - b
    return t * t


def _inner_loops(term):
    @numba.njit(fastmath=_FAST, inline="always")
    def pair(x, y):
        s = 0.0
        for k in range(x.shape[0]):
            s += term(x[k], y[k])
        return s

    @numba.njit(fastmath=_FAST, inline="always")
    def four(X, i0, y):
        x0, x1, x2, x3 = X[i0], X[i0 + 1], X[i0 + 2], X[i0 + 3]
        s0 = s1 = s2 = s3 = 0.0
        for k in range(y.shape[0]):
            yk = y[k]
            s0 += term(x0[k], yk)
            s1 += term(x1[k], yk)
            s2 += term(x2[k], yk)
            s3 += term(x3[k], yk)
        return s0, s1, s2, s3

    return pair, four


_pair_l1, _four_l1 = _inner_loops(_abs_diff)
_pair_l2, _four_l2 = _inner_loops(_squared_diff)


@numba.njit(fastmath=_FAST, inline="always")
def _pair(x, y, squared):
    return _pair_l2(x, y) if squared else _pair_l1(x, y)


@numba.njit(fastmath=_FAST, inline="always")
def _row_block(X, i0, Y, j0, j1, squared, out, mirror):
    """out[i0:i0+4, j] for j in [j0, j1), and the mirrored out[j, i0:i0+4] if ``mirror``."""
    for j in range(j0, j1):
        if squared:
            v0, v1, v2, v3 = _four_l2(X, i0, Y[j])
        else:
            v0, v1, v2, v3 = _four_l1(X, i0, Y[j])
        out[i0, j], out[i0 + 1, j], out[i0 + 2, j], out[i0 + 3, j] = v0, v1, v2, v3
        if mirror:
            out[j, i0], out[j, i0 + 1], out[j, i0 + 2], out[j, i0 + 3] = v0, v1, v2, v3


@numba.njit(parallel=True, fastmath=_FAST, cache=True)
def _cross(X, Y, squared, out):
    n = X.shape[0]
    for b in numba.prange((n + 3) // 4):
        i0 = 4 * b
        if i0 + 4 <= n:
            _row_block(X, i0, Y, 0, Y.shape[0], squared, out, False)
        else:
            for i in range(i0, n):
                for j in range(Y.shape[0]):
                    out[i, j] = _pair(X[i], Y[j], squared)


@numba.njit(parallel=True, fastmath=_FAST, cache=True)
def _symmetric(X, squared, out):
    # Blocks of four rows; block t goes with block nb-1-t so each parallel iteration does
    # about the same number of pairs.
    n = X.shape[0]
    nb = (n + 3) // 4
    for t in numba.prange((nb + 1) // 2):
        for half in range(2):
            b = np.int64(t) if half == 0 else nb - 1 - np.int64(t)
            if half == 1 and b == np.int64(t):
                break
            i0 = 4 * b
            i1 = min(i0 + 4, n)
            for i in range(i0, i1):  # the small triangle inside the block
                out[i, i] = 0.0
                for j in range(i + 1, i1):
                    v = _pair(X[i], X[j], squared)
                    out[i, j] = v
                    out[j, i] = v
            if i1 - i0 == 4:
                _row_block(X, i0, X, i1, n, squared, out, True)
            else:
                for i in range(i0, i1):
                    for j in range(i1, n):
                        v = _pair(X[i], X[j], squared)
                        out[i, j] = v
                        out[j, i] = v


def _pairwise(X: np.ndarray, Y: np.ndarray | None, squared: bool) -> np.ndarray:
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {X.shape}")
    if Y is None:
        out = np.empty((X.shape[0], X.shape[0]))
        _symmetric(X, squared, out)
        return out
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    if Y.ndim != 2 or Y.shape[1] != X.shape[1]:
        raise ValueError(f"vectors differ in length: {X.shape} and {Y.shape}")
    out = np.empty((X.shape[0], Y.shape[0]))
    _cross(X, Y, squared, out)
    return out


def l1_distances(X: np.ndarray, Y: np.ndarray | None = None) -> np.ndarray:
    """Manhattan distances ``sum_k |X[i,k] - Y[j,k]|``.

    Parameters
    ----------
    X : (n, d)
    Y : (m, d), or None for the symmetric ``X`` against ``X`` (each pair computed once)

    Returns
    -------
    (n, m) or (n, n) float64
    """
    return _pairwise(X, Y, squared=False)


def l2_distances(X: np.ndarray, Y: np.ndarray | None = None) -> np.ndarray:
    """Euclidean distances, computed from differences (no ``|x|^2 + |y|^2 - 2xy`` cancellation).

    Shapes as in `l1_distances`.
    """
    return np.sqrt(_pairwise(X, Y, squared=True))


def sorted_entries(X: np.ndarray) -> np.ndarray:
    """Each row sorted ascending: (n, d) -> (n, d). The W1 'representation' of a vector."""
    return np.sort(np.asarray(X, dtype=np.float64), axis=-1)


def w1_distances(X: np.ndarray, Y: np.ndarray | None = None, *, presorted: bool = False) -> np.ndarray:
    """1-Wasserstein distances between the empirical distributions of the rows' entries.

    Parameters
    ----------
    X : (n, d)
    Y : (m, d) or None (symmetric)
    presorted : rows are already sorted ascending (`sorted_entries`); skips the sort

    Returns
    -------
    (n, m) or (n, n) float64, in the units of the entries
    """
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[-1]
    Xs = X if presorted else sorted_entries(X)
    Ys = None if Y is None else (np.asarray(Y, dtype=np.float64) if presorted else sorted_entries(Y))
    out = _pairwise(Xs, Ys, squared=False)
    out /= d
    return out


def prepare(metric: Metric, X: np.ndarray) -> np.ndarray:
    """What ``metric`` compares: for W1 the rows sorted (done once), else X itself. (n, d)."""
    check_metric(metric)
    return sorted_entries(X) if metric == "w1" else np.asarray(X, dtype=np.float64)


def distances(metric: Metric, X: np.ndarray, Y: np.ndarray | None = None, *,
              presorted: bool = False) -> np.ndarray:
    """Distance matrix for ``metric`` in {'l1', 'l2', 'w1'}; shapes as in `l1_distances`.

    ``presorted``: X and Y come from `prepare` (W1 then skips its sort; others ignore it).
    """
    check_metric(metric)
    if metric == "w1":
        return w1_distances(X, Y, presorted=presorted)
    return {"l1": l1_distances, "l2": l2_distances}[metric](X, Y)
