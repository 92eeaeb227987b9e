"""KRR models along a displacement scan, with closed-form leave-one-out choice of sigma and lambda.

For one sigma, ``K = V diag(s) V^T`` once; then for every lambda the LOO residuals of KRR are
``e_i = alpha_i / G_ii`` with ``alpha = G y``, ``G = (K + lambda I)^-1 = V diag(1/(s+lambda)) V^T``
(Rifkin & Lippert, "Notes on regularized least squares", 2007). One eigendecomposition per
sigma therefore scores the whole lambda grid.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np

from ..learn.kernels import kernel_from_distances
from ..learn.krr import solve_krr
from ..learn.metrics import Metric

#: Sigma grid of the scan models, as multiples of the median training distance. Along a smooth
#: one-dimensional scan leave-one-out often prefers very wide kernels (the Laplacian kernel then
#: interpolates almost linearly between training points), so the grid reaches 4096x.
SIGMA_FACTORS: tuple[float, ...] = tuple(2.0 ** k for k in range(-2, 13))
LAMBDAS: tuple[float, ...] = (1e-10, 1e-8, 1e-6, 1e-4, 1e-2)

#: Model name -> (metric, Coulomb-matrix order, uses the large training set).
MODEL_SPECS: dict[str, tuple[str, str, bool]] = {
    "l1_sorted": ("l1", "sorted", False),
    "w1": ("w1", "sorted", False),  # W1 is permutation invariant: any order gives the same model
    "l1_unsorted": ("l1", "unsorted", False),
    "l1_random": ("l1", "random", False),
    "l2_sorted": ("l2", "sorted", False),
    "l1_sorted_large": ("l1", "sorted", True),
}

MODEL_LABELS: dict[str, str] = {
    "l1_sorted": "L1, sorted CM",
    "w1": "W1",
    "l1_unsorted": "L1, unsorted CM",
    "l1_random": "L1, random CM",
    "l2_sorted": "L2, sorted CM",
    "l1_sorted_large": "L1, sorted CM, large training set",
}


@lru_cache(maxsize=1)
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: without it BLAS keeps its own threading
        return None
    return ThreadpoolController()


@contextmanager
def single_threaded():
    """Run numba and BLAS on one thread inside the block.

    A scan's matrices are tiny (10-80 training points, a few hundred grid points): waking a
    thread pool costs more than the work, and on a busy machine a parallel region waits for
    every core, so one call can take 30 ms instead of 0.1 ms.
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    controller = _blas_controller()
    try:
        if controller is None:
            yield
        else:
            with controller.limit(limits=1, user_api="blas"):
                yield
    finally:
        numba.set_num_threads(previous)


def loo_residuals(kernel: np.ndarray, y: np.ndarray, lambdas) -> np.ndarray:
    """Leave-one-out residuals ``y_i - f_{-i}(x_i)`` of KRR for every lambda, in closed form.

    Parameters
    ----------
    kernel : (n, n) symmetric kernel matrix of the training points
    y : (n,) targets (already centred if the model centres them)
    lambdas : (l,) regularisation values

    Returns
    -------
    (l, n) residuals; rows of NaN where ``K + lambda I`` is not positive definite
    """
    s, v = np.linalg.eigh(kernel)
    vty = v.T @ y
    v2 = v * v
    out = np.full((len(lambdas), y.size), np.nan)
    for k, lam in enumerate(lambdas):
        shifted = s + lam
        if shifted.min() <= 1e-14 * max(s.max(), 1.0):
            continue
        alpha = v @ (vty / shifted)
        g_diag = v2 @ (1.0 / shifted)
        out[k] = alpha / g_diag
    return out


def _median_distance(distance: np.ndarray) -> float:
    """Median of the off-diagonal entries of a square distance matrix (1 if there are none or it is 0)."""
    values = distance[np.triu_indices(distance.shape[0], k=1)]
    med = float(np.median(values)) if values.size else 0.0
    return med if med > 0 else 1.0


@dataclass
class Hyperparameters:
    """Chosen (sigma, lambda) and the LOO mean absolute error there (target units)."""

    sigma: float
    lam: float
    loo_mae: float


def select_hyperparameters(distance: np.ndarray, y: np.ndarray, metric: Metric, *,
                           sigma: float | None = None, lam: float | None = None,
                           sigma_factors=SIGMA_FACTORS, lambdas=LAMBDAS) -> Hyperparameters:
    """Sigma and lambda by closed-form LOO (MAE) over a grid; a given value is kept fixed.

    Parameters
    ----------
    distance : (n, n) training distances of ``metric``
    y : (n,) centred targets
    sigma, lam : fixed values (None: chosen). Sigma's grid is ``sigma_factors`` times the
        median training distance.
    """
    sigmas = [float(sigma)] if sigma is not None else [f * _median_distance(distance) for f in sigma_factors]
    lams = [float(lam)] if lam is not None else list(lambdas)
    best = Hyperparameters(sigmas[-1], lams[-1], np.inf)
    for s in sigmas:
        K = kernel_from_distances(distance, metric, s, out=np.empty_like(distance))
        res = loo_residuals(K, y, lams)
        mae = np.abs(res).mean(axis=1)
        for lam_k, m in zip(lams, mae, strict=False):
            if np.isfinite(m) and m < best.loo_mae:
                best = Hyperparameters(s, lam_k, float(m))
    return best


def fit_predict(d_train: np.ndarray, d_query: np.ndarray, y: np.ndarray, metric: Metric,
                sigma: float, lam: float) -> np.ndarray:
    """KRR on centred targets: fit on (n, n) ``d_train``, predict from (m, n) ``d_query``: (m,).

    The training mean is subtracted before the fit and added back to the predictions, so
    far from the training points the model returns the mean rather than zero.
    """
    offset = float(y.mean())
    K = kernel_from_distances(d_train, metric, sigma, out=np.empty_like(d_train))
    lam_used = lam
    for _ in range(6):  # a nearly singular K (very large sigma): raise lambda until it solves
        try:
            alpha = solve_krr(K, y - offset, lam_used)
            break
        except np.linalg.LinAlgError:
            lam_used = max(lam_used * 100.0, 1e-12)
    else:
        raise np.linalg.LinAlgError("K + lambda I is not positive definite")
    Kq = kernel_from_distances(d_query, metric, sigma, out=np.empty_like(d_query))
    return Kq @ alpha + offset
