"""Kernel ridge regression in scikit-learn style, and k-fold cross-validation of sigma and lambda.

The model solves ``(K + lambda I) alpha = y`` by Cholesky and predicts ``K_* alpha``.
Cross-validation computes the distance matrix once and reuses it for every sigma, lambda
and fold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg

from .kernels import kernel_from_distances
from .metrics import Metric, check_metric, distances, prepare
from .progress import CancelToken, ProgressCallback, report

#: Sigma grid as multiples of the median training distance (powers of two). The Laplacian
#: optimum on sorted CMs sits near 8-64x the median, so the grid reaches far above it.
DEFAULT_SIGMA_FACTORS: tuple[float, ...] = tuple(2.0 ** k for k in range(-2, 13))
DEFAULT_LAMBDAS: tuple[float, ...] = (1e-10, 1e-8, 1e-6, 1e-4, 1e-2)


class SolveError(np.linalg.LinAlgError):
    """``K + lambda I`` is not numerically positive definite."""


def solve_krr(kernel: np.ndarray, y: np.ndarray, lam: float, overwrite: bool = False) -> np.ndarray:
    """Regression weights ``alpha`` of ``(K + lam I) alpha = y`` by Cholesky.

    Parameters
    ----------
    kernel : (n, n) symmetric kernel matrix
    y : (n,) targets
    lam : regularisation lambda >= 0
    overwrite : allow ``kernel`` to be destroyed (saves a copy)

    Returns
    -------
    (n,) float64
    """
    a = kernel if overwrite else kernel.copy()
    a.flat[:: a.shape[0] + 1] += lam
    try:
        factor = scipy.linalg.cho_factor(a, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError as exc:
        raise SolveError(f"K + {lam:g} I is not positive definite: increase lambda") from exc
    return scipy.linalg.cho_solve(factor, np.asarray(y, dtype=np.float64), check_finite=False)


class KernelRidge:
    """Kernel ridge regression on the L1 (Laplacian), L2 (Gaussian) or W1 kernel.

    Parameters
    ----------
    metric : 'l1', 'l2' or 'w1'
    sigma : kernel length scale, in the units of the metric's distances
    lam : regularisation lambda added to the kernel's diagonal

    Attributes
    ----------
    X_fit_ : (n, d) training representations (for W1: each row sorted)
    alpha_ : (n,) regression weights
    """

    def __init__(self, metric: Metric = "w1", sigma: float = 1.0, lam: float = 1e-8):
        self.metric = metric
        self.sigma = sigma
        self.lam = lam

    def get_params(self, deep: bool = True) -> dict:
        return {"metric": self.metric, "sigma": self.sigma, "lam": self.lam}

    def set_params(self, **params) -> KernelRidge:
        for k, v in params.items():
            if k not in self.get_params():
                raise ValueError(f"unknown parameter {k!r}")
            setattr(self, k, v)
        return self

    def fit(self, X: np.ndarray, y: np.ndarray) -> KernelRidge:
        """Fit on representations X (n, d) and targets y (n,)."""
        Xp = prepare(self.metric, X)
        y = np.asarray(y, dtype=np.float64)
        if y.shape != (Xp.shape[0],):
            raise ValueError(f"y must have shape ({Xp.shape[0]},), got {y.shape}")
        return self.fit_distances(distances(self.metric, Xp, presorted=True), y, _X=Xp)

    def fit_distances(self, distance: np.ndarray, y: np.ndarray, _X=None) -> KernelRidge:
        """Fit from a precomputed (n, n) training distance matrix (then use `predict_distances`)."""
        K = kernel_from_distances(distance, self.metric, self.sigma,
                                  out=np.empty_like(distance, dtype=np.float64))
        self.alpha_ = solve_krr(K, y, self.lam, overwrite=True)
        self.X_fit_ = _X
        return self

    def predict_distances(self, distance: np.ndarray) -> np.ndarray:
        """Predictions from (m, n) distances between query and training points: (m,)."""
        K = kernel_from_distances(distance, self.metric, self.sigma,
                                  out=np.empty_like(distance, dtype=np.float64))
        return K @ self.alpha_

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict for representations X (m, d): (m,)."""
        if getattr(self, "X_fit_", None) is None:
            raise RuntimeError("call fit(X, y) before predict(X)")
        Xp = prepare(self.metric, X)
        return self.predict_distances(distances(self.metric, Xp, self.X_fit_, presorted=True))


def fold_indices(n: int, folds: int, seed: int) -> list[np.ndarray]:
    """``folds`` disjoint validation index sets covering range(n), shuffled with ``seed``."""
    if not 2 <= folds <= n:
        raise ValueError(f"folds must be between 2 and the number of samples ({n}), got {folds}")
    perm = np.random.default_rng(seed).permutation(n)
    return np.array_split(perm, folds)


def median_distance(distance: np.ndarray) -> float:
    """Median of the off-diagonal entries of a square distance matrix (sampled when large)."""
    n = distance.shape[0]
    if n < 2:
        return 1.0
    iu = np.triu_indices(min(n, 2000), k=1)
    med = float(np.median(distance[iu]))
    return med if med > 0 else 1.0


@dataclass
class CVResult:
    """Outcome of `cross_validate`.

    Attributes
    ----------
    sigma, lam : the chosen hyperparameters
    mae : cross-validated MAE at the optimum, in the target's units
    sigmas, lambdas : the grid that was evaluated (sigmas may stop early, see `cross_validate`)
    scores : (len(sigmas), len(lambdas)) cross-validated MAE; inf where the solve failed
    """

    sigma: float
    lam: float
    mae: float
    sigmas: np.ndarray
    lambdas: np.ndarray
    scores: np.ndarray = field(repr=False)


def cross_validate(distance: np.ndarray, y: np.ndarray, metric: Metric, *, folds: int = 5,
                   sigma_factors=DEFAULT_SIGMA_FACTORS, lambdas=DEFAULT_LAMBDAS, seed: int = 0,
                   patience: int = 3, extend: int = 8, cancel: CancelToken | None = None,
                   progress: ProgressCallback | None = None) -> CVResult:
    """k-fold cross-validation of sigma and lambda on one precomputed distance matrix.

    Sigmas are ``median_distance(distance) * sigma_factors``, tried in increasing order;
    the search stops early once ``patience`` consecutive sigmas failed to improve on the
    best MAE (the CV error is unimodal in sigma in practice), and continues the grid upwards
    by factors of two, at most ``extend`` times, while the largest sigma is still the best.

    Parameters
    ----------
    distance : (n, n) training distances of ``metric``
    y : (n,) targets
    metric : 'l1', 'l2' or 'w1'
    folds : number of folds, 2..n
    sigma_factors, lambdas : the grid
    seed : shuffles the folds
    patience : see above; 0 evaluates the whole grid
    extend : see above; 0 keeps the grid as given
    cancel : checked between solves
    progress : ``progress(done, total, message)`` per sigma

    Returns
    -------
    CVResult
    """
    check_metric(metric)
    y = np.asarray(y, dtype=np.float64)
    n = distance.shape[0]
    val_sets = fold_indices(n, folds, seed)
    train_sets = [np.setdiff1d(np.arange(n), v, assume_unique=True) for v in val_sets]
    sigmas = median_distance(distance) * np.sort(np.asarray(sigma_factors, dtype=float))
    lambdas = np.asarray(lambdas, dtype=float)
    scores = np.full((sigmas.size, lambdas.size), np.inf)
    K = np.empty_like(distance, dtype=np.float64)
    best, since_best = np.inf, 0
    s = 0
    while s < sigmas.size:
        sigma = sigmas[s]
        kernel_from_distances(distance, metric, sigma, out=K)
        abs_err = np.zeros(lambdas.size)
        failed = np.zeros(lambdas.size, dtype=bool)
        for tr, va in zip(train_sets, val_sets, strict=False):
            k_tr = K[np.ix_(tr, tr)]
            k_va = K[np.ix_(va, tr)]
            for j, lam in enumerate(lambdas):
                if cancel is not None:
                    cancel.check()
                if failed[j]:
                    continue
                try:
                    alpha = solve_krr(k_tr, y[tr], lam, overwrite=(j == lambdas.size - 1))
                except SolveError:
                    failed[j] = True
                    continue
                abs_err[j] += np.abs(k_va @ alpha - y[va]).sum()
        scores[s] = np.where(failed, np.inf, abs_err / n)
        report(progress, s + 1, sigmas.size, f"sigma {s + 1}/{sigmas.size}")
        if scores[s].min() < best:
            best, since_best = scores[s].min(), 0
        else:
            since_best += 1
            if patience and since_best >= patience:
                scores = scores[: s + 1]
                sigmas = sigmas[: s + 1]
                break
        if s == sigmas.size - 1 and since_best == 0 and extend > 0:
            # Still improving at the top of the grid: continue it upwards.
            extend -= 1
            sigmas = np.append(sigmas, sigmas[-1] * 2.0)
            scores = np.vstack([scores, np.full((1, lambdas.size), np.inf)])
        s += 1
    if not np.isfinite(scores).any():
        raise SolveError("no sigma and lambda in the grid gave a positive definite system")
    i, j = np.unravel_index(np.argmin(scores), scores.shape)
    return CVResult(sigma=float(sigmas[i]), lam=float(lambdas[j]), mae=float(scores[i, j]),
                    sigmas=sigmas, lambdas=lambdas, scores=scores)
