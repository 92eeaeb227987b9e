"""Kernels on the three metrics: L1 -> Laplacian, L2 -> Gaussian, W1 -> exp(-W1 / sigma)."""

from __future__ import annotations

import math

import numba
import numpy as np

from .metrics import Metric, check_metric, distances


def kernel_from_distances(distance: np.ndarray, metric: Metric, sigma: float,
                          out: np.ndarray | None = None) -> np.ndarray:
    """Turn a distance matrix into a kernel matrix.

    Parameters
    ----------
    distance : (n, m) distances of ``metric`` (L2: plain Euclidean, not squared)
    metric : 'l1' (Laplacian ``exp(-D / sigma)``), 'l2' (Gaussian ``exp(-D^2 / (2 sigma^2))``)
        or 'w1' (``exp(-W1 / sigma)``, the paper's alpha = 1 / sigma)
    sigma : length scale, in the units of the distances, > 0
    out : optional (n, m) float64 buffer to write into (may be ``distance`` itself)

    Returns
    -------
    (n, m) float64 kernel matrix
    """
    check_metric(metric)
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    if metric == "l2":
        out = np.multiply(distance, distance, out=out)
        out *= -1.0 / (2.0 * sigma * sigma)
    else:
        out = np.multiply(distance, -1.0 / sigma, out=out)
    return np.exp(out, out=out)


def kernel_matrix(metric: Metric, X: np.ndarray, Y: np.ndarray | None, sigma: float) -> np.ndarray:
    """Kernel matrix between rows of X (n, d) and Y (m, d), or X with itself if Y is None."""
    return kernel_from_distances(distances(metric, X, Y), metric, sigma)


# --- Fused kernels for the KRR engine -------------------------------------------------------
# Cross-validation and fitting never form a kernel matrix they do not factorise: the kernel
# block of a fold is written straight from the distance matrix into the (Fortran-ordered)
# workspace LAPACK factorises in place, and predictions are kernel-vector products computed
# on the fly from distances.

_FAST = {"reassoc", "nsz", "contract"}  # exact exp; sums reassociated


@numba.njit(fastmath=_FAST, inline="always")
def _k(d, gaussian, scale):
    # scale = 1/sigma (Laplacian, W1) or 1/(2 sigma^2) (Gaussian)
    return math.exp(-d * d * scale) if gaussian else math.exp(-d * scale)


@numba.njit(parallel=True, fastmath=_FAST, cache=True)
def _block_sym(D, idx, gaussian, scale, lam, out):
    m = idx.shape[0]
    for b in numba.prange(m):  # column b of the Fortran-ordered output is contiguous
        j = idx[b]
        for a in range(b, m):  # lower triangle only: what a lower Cholesky reads
            out[a, b] = _k(D[j, idx[a]], gaussian, scale)
        out[b, b] += lam


@numba.njit(parallel=True, fastmath=_FAST, cache=True)
def _matvec(D, rows, cols, gaussian, scale, alphas, out):
    for a in numba.prange(rows.shape[0]):
        row = D[rows[a]]
        for r in range(alphas.shape[1]):
            out[a, r] = 0.0
        for b in range(cols.shape[0]):
            k = _k(row[cols[b]], gaussian, scale)
            for r in range(alphas.shape[1]):
                out[a, r] += k * alphas[b, r]


def _scale(metric: Metric, sigma: float) -> tuple[bool, float]:
    check_metric(metric)
    if not sigma > 0:
        raise ValueError(f"sigma must be positive, got {sigma}")
    return (True, 1.0 / (2.0 * sigma * sigma)) if metric == "l2" else (False, 1.0 / sigma)


def kernel_block(distance: np.ndarray, index: np.ndarray, metric: Metric, sigma: float, lam: float,
                 out: np.ndarray) -> np.ndarray:
    """Lower triangle of ``K[index][:, index] + lam I`` from a symmetric distance matrix.

    Parameters
    ----------
    distance : (n, n) symmetric distances of ``metric``
    index : (m,) int64 rows (and columns) to take
    metric, sigma : as in `kernel_from_distances`
    lam : added to the diagonal
    out : (>= m, >= m) float64 Fortran-ordered workspace; its top-left (m, m) block's lower
        triangle is written (the upper triangle is left as it was)

    Returns
    -------
    out[:m, :m], ready for an in-place lower Cholesky factorisation (LAPACK ``dpotrf``)
    """
    gaussian, scale = _scale(metric, sigma)
    m = index.shape[0]
    view = out[:m, :m]
    _block_sym(distance, np.ascontiguousarray(index, dtype=np.int64), gaussian, scale, float(lam), view)
    return view


def kernel_matvec(distance: np.ndarray, rows: np.ndarray | None, cols: np.ndarray | None,
                  metric: Metric, sigma: float, alphas: np.ndarray) -> np.ndarray:
    """``K[rows][:, cols] @ alphas`` without forming the kernel matrix.

    Parameters
    ----------
    distance : (n, m) distances of ``metric``
    rows : (r,) int row indices, or None for all rows
    cols : (c,) int column indices, or None for all columns
    metric, sigma : as in `kernel_from_distances`
    alphas : (c,) or (c, L) weights (several right-hand sides at once)

    Returns
    -------
    (r,) or (r, L) float64
    """
    gaussian, scale = _scale(metric, sigma)
    rows = np.arange(distance.shape[0]) if rows is None else rows
    cols = np.arange(distance.shape[1]) if cols is None else cols
    a = np.asarray(alphas, dtype=np.float64)
    a2 = np.ascontiguousarray(a.reshape(a.shape[0], -1))
    out = np.empty((len(rows), a2.shape[1]))
    _matvec(np.ascontiguousarray(distance, dtype=np.float64), np.asarray(rows, dtype=np.int64),
            np.asarray(cols, dtype=np.int64), gaussian, scale, a2, out)
    return out.reshape((len(rows),) + a.shape[1:])
