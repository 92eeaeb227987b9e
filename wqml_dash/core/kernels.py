"""Kernels on the three metrics: L1 -> Laplacian, L2 -> Gaussian, W1 -> exp(-W1 / sigma)."""

from __future__ import annotations

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
