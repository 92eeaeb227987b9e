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


def _make_kernels(term):
    """Compiled cross and symmetric distance-matrix kernels summing ``term(x_k, y_k)``.

    The inner loop works on four rows of X against one row of Y at once (register blocking):
    each loaded ``y_k`` serves four sums, which roughly doubles the throughput of a plain
    pair loop (it is compute-bound, not memory-bound, for QM9-sized vectors).
    """

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

    @numba.njit(parallel=True, fastmath=_FAST, cache=True)
    def cross(X, Y, out):
        n = X.shape[0]
        for b in numba.prange((n + 3) // 4):
            i0 = 4 * b
            if i0 + 4 <= n:
                for j in range(Y.shape[0]):
                    out[i0, j], out[i0 + 1, j], out[i0 + 2, j], out[i0 + 3, j] = four(X, i0, Y[j])
            else:
                for i in range(i0, n):
                    for j in range(Y.shape[0]):
                        out[i, j] = pair(X[i], Y[j])

    @numba.njit(parallel=True, fastmath=_FAST, cache=True)
    def symmetric(X, out):
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
                        v = pair(X[i], X[j])
                        out[i, j] = v
                        out[j, i] = v
                if i1 - i0 == 4:
                    for j in range(i1, n):
                        v0, v1, v2, v3 = four(X, i0, X[j])
                        out[i0, j], out[i0 + 1, j], out[i0 + 2, j], out[i0 + 3, j] = v0, v1, v2, v3
                        out[j, i0], out[j, i0 + 1], out[j, i0 + 2], out[j, i0 + 3] = v0, v1, v2, v3
                else:
                    for i in range(i0, i1):
                        for j in range(i1, n):
                            v = pair(X[i], X[j])
                            out[i, j] = v
                            out[j, i] = v

    return cross, symmetric


@numba.njit(fastmath=_FAST, inline="always")
def _abs_diff(a, b):
    return abs(a - b)


@numba.njit(fastmath=_FAST, inline="always")
def _squared_diff(a, b):
    t = a - b
    return t * t


_KERNELS = {False: _make_kernels(_abs_diff), True: _make_kernels(_squared_diff)}


def _pairwise(X: np.ndarray, Y: np.ndarray | None, squared: bool) -> np.ndarray:
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-d array of vectors, got shape {X.shape}")
    if Y is None:
        out = np.empty((X.shape[0], X.shape[0]))
        _KERNELS[squared][1](X, out)
        return out
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    if Y.ndim != 2 or Y.shape[1] != X.shape[1]:
        raise ValueError(f"vectors differ in length: {X.shape} and {Y.shape}")
    out = np.empty((X.shape[0], Y.shape[0]))
    _KERNELS[squared][0](X, Y, out)
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
