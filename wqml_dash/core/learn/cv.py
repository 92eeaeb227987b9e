"""Choosing sigma and lambda: k-fold cross-validation (grid and local search) and closed-form
leave-one-out, on one precomputed distance matrix, with the one sigma/lambda grid of the package.

Sigma is searched as multiples of the median training distance (`median_distance`), so the same
grid fits every metric and representation. k-fold CV (`cross_validate`) picks a learning curve's
hyperparameters; leave-one-out in closed form (`select_by_loo`) picks a scan model's, where the
training sets are small enough for one eigendecomposition per sigma.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..progress import CancelToken, ProgressCallback, report
from .backends import Backend, FoldScorer, backend_of
from .errors import SolveError
from .kernels import kernel_from_distances
from .metrics import Metric, check_metric

#: Sigma grid as multiples of the median training distance (powers of two). The Laplacian
#: optimum on sorted CMs sits near 8-64x the median, and along a smooth one-dimensional scan
#: leave-one-out often prefers very wide kernels, so the grid reaches 4096x.
DEFAULT_SIGMA_FACTORS: tuple[float, ...] = tuple(2.0 ** k for k in range(-2, 13))
#: Regularisation grid.
DEFAULT_LAMBDAS: tuple[float, ...] = (1e-10, 1e-8, 1e-6, 1e-4, 1e-2)
#: The median distance is taken over the first MEDIAN_SAMPLE points (all of them below that).
MEDIAN_SAMPLE = 2000


def fold_indices(n: int, folds: int, seed: int) -> list[np.ndarray]:
    """``folds`` disjoint validation index sets covering range(n), shuffled with ``seed``."""
    if not 2 <= folds <= n:
        raise ValueError(f"folds must be between 2 and the number of samples ({n}), got {folds}")
    perm = np.random.default_rng(seed).permutation(n)
    return np.array_split(perm, folds)


def fold_split(n: int, folds: int, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(validation, training) index arrays of each fold, both sorted: ``folds`` arrays each."""
    val = [np.sort(v) for v in fold_indices(n, folds, seed)]
    return val, [np.setdiff1d(np.arange(n), v, assume_unique=True) for v in val]


def median_distance(distance: np.ndarray) -> float:
    """Median of the off-diagonal entries of a square distance matrix (its first `MEDIAN_SAMPLE`
    points when larger); 1 when there are none or the median is 0."""
    m = min(distance.shape[0], MEDIAN_SAMPLE)
    if m < 2:
        return 1.0
    med = float(np.median(np.asarray(distance[:m, :m])[np.triu_indices(m, k=1)]))
    return med if med > 0 else 1.0


@dataclass
class CVResult:
    """Outcome of `cross_validate`.

    Attributes
    ----------
    sigma, lam : the chosen hyperparameters
    mae : cross-validated MAE at the optimum, in the target's units
    sigmas, lambdas : the grid the search moved on (sigmas ascending)
    scores : (len(sigmas), len(lambdas)) cross-validated MAE; inf where the solve failed,
        NaN where the search did not evaluate
    evaluations : number of (sigma, lambda) pairs evaluated (each costs ``folds`` factorisations)
    """

    sigma: float
    lam: float
    mae: float
    sigmas: np.ndarray
    lambdas: np.ndarray
    scores: np.ndarray = field(repr=False)
    evaluations: int = 0


def cross_validate(distance: np.ndarray, y: np.ndarray, metric: Metric, *, folds: int = 5,
                   sigma_factors=DEFAULT_SIGMA_FACTORS, lambdas=DEFAULT_LAMBDAS, seed: int = 0,
                   patience: int = 3, extend: int = 8, start: tuple[float, float] | None = None,
                   cancel: CancelToken | None = None,
                   progress: ProgressCallback | None = None, backend: Backend | None = None) -> CVResult:
    """k-fold cross-validation of sigma and lambda on one precomputed distance matrix.

    Two searches, both on the grid ``sigma = median_distance(distance) * sigma_factors`` by
    ``lambdas``:

    - ``start=None``: the grid. Sigmas are tried in increasing order with every lambda; the
      search stops once ``patience`` consecutive sigmas failed to improve on the best MAE (the
      CV error is unimodal in sigma in practice), and continues the grid upwards by factors of
      two, at most ``extend`` times, while the largest sigma is still the best.
    - ``start=(sigma, lam)``, e.g. the optimum of the previous, smaller training size: a local
      search. Sigmas are ``median * 2**k`` for integer k (the grid's powers of two, from two
      below the grid to ``extend`` above it), lambdas the given list. From the grid point
      nearest ``start`` it moves to a better neighbour (one step in sigma or lambda) as long
      as there is one, keeps going in a direction while that improves, and stops at a point
      better than its four neighbours. Typically 5 evaluations instead of the grid's 40-75,
      which is what makes training sets of 10,000 affordable on a laptop.

    Parameters
    ----------
    distance : (n, n) symmetric training distances of ``metric``
    y : (n,) targets
    metric : 'l1', 'l2' or 'w1'
    folds : number of folds, 2..n
    sigma_factors, lambdas : the grid
    seed : shuffles the folds
    patience : see above; 0 evaluates the whole grid
    extend : see above; 0 keeps the grid as given
    start : see above
    cancel : checked between factorisations
    progress : ``progress(done, total, message)`` per evaluated sigma (grid) or pair (local)
    backend : where the folds are solved (`backends`); default: the backend of ``distance``
        (NumPy for an array, PyTorch on the tensor's device for a tensor)

    Returns
    -------
    CVResult
    """
    check_metric(metric)
    y = np.asarray(y, dtype=np.float64)
    backend = backend if backend is not None else backend_of(distance)
    val, train = fold_split(y.size, folds, seed)
    cv = backend.folds(distance, y, metric, val, train, cancel)
    lambdas = np.asarray(lambdas, dtype=float)
    median = median_distance(backend.to_numpy(distance[:MEDIAN_SAMPLE, :MEDIAN_SAMPLE]))
    if start is None:
        return _grid_search(cv, median, np.sort(np.asarray(sigma_factors, dtype=float)), lambdas,
                            patience, extend, progress)
    factors = np.log2(np.asarray(sigma_factors, dtype=float))
    k_range = (int(np.floor(factors.min())) - 2, int(np.ceil(factors.max())) + extend)
    return _local_search(cv, median, lambdas, start, k_range, progress)


def _grid_search(cv: FoldScorer, median, factors, lambdas, patience, extend, progress) -> CVResult:
    sigmas = median * factors
    scores = np.full((sigmas.size, lambdas.size), np.inf)
    best, since_best = np.inf, 0
    s = 0
    while s < sigmas.size:
        scores[s] = cv.mae(sigmas[s], lambdas)
        report(progress, s + 1, sigmas.size, f"sigma {s + 1}/{sigmas.size}")
        if scores[s].min() < best:
            best, since_best = scores[s].min(), 0
        else:
            since_best += 1
            if patience and since_best >= patience:
                scores, sigmas = scores[: s + 1], sigmas[: s + 1]
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
                    sigmas=sigmas, lambdas=lambdas, scores=scores, evaluations=scores.size)


def _local_search(cv: FoldScorer, median, lambdas, start, k_range, progress) -> CVResult:
    sigma0, lam0 = start
    if not (sigma0 > 0 and lam0 >= 0):
        raise ValueError(f"start must be (sigma > 0, lambda >= 0), got {start}")
    k = int(np.clip(round(np.log2(sigma0 / median)), *k_range))
    j = int(np.argmin(np.abs(np.log10(np.maximum(lambdas, 1e-300)) - np.log10(max(lam0, 1e-300)))))
    seen: dict[tuple[int, int], float] = {}

    def score(point):
        if point not in seen:
            seen[point] = float(cv.mae(median * 2.0 ** point[0], [lambdas[point[1]]])[0])
            report(progress, len(seen), len(seen) + 1, f"local search: {len(seen)} evaluated")
        return seen[point]

    current = (k, j)
    best = score(current)
    moved = True
    while moved:  # ends after a pass in which none of the four neighbours was better
        moved = False
        for axis in (0, 1):
            for step in (-1, 1):
                went = False
                candidate = _shift(current, axis, step)
                while (0 <= candidate[1] < lambdas.size and k_range[0] <= candidate[0] <= k_range[1]
                       and score(candidate) < best):
                    current, best, moved, went = candidate, seen[candidate], True, True
                    candidate = _shift(current, axis, step)  # keep going while it improves
                if went:
                    break  # no need to look the other way along this axis
    if not np.isfinite(best):
        raise SolveError("no sigma and lambda near the start gave a positive definite system; "
                         "use the grid search")
    ks = sorted({p[0] for p in seen})
    k_all = np.arange(ks[0], ks[-1] + 1)
    scores = np.full((k_all.size, lambdas.size), np.nan)
    for (kk, jj), v in seen.items():
        scores[kk - ks[0], jj] = v
    return CVResult(sigma=float(median * 2.0 ** current[0]), lam=float(lambdas[current[1]]), mae=best,
                    sigmas=median * 2.0 ** k_all, lambdas=lambdas, scores=scores, evaluations=len(seen))


def _shift(point: tuple[int, int], axis: int, step: int) -> tuple[int, int]:
    return (point[0] + step, point[1]) if axis == 0 else (point[0], point[1] + step)



# --- leave-one-out in closed form ------------------------------------------------------------
# For one sigma, K = V diag(s) V^T once; then for every lambda the LOO residuals of KRR are
# e_i = alpha_i / G_ii with alpha = G y, G = (K + lambda I)^-1 = V diag(1/(s+lambda)) V^T
# (Rifkin & Lippert, "Notes on regularized least squares", 2007). One eigendecomposition per
# sigma therefore scores the whole lambda grid.

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


@dataclass
class LOOResult:
    """Chosen (sigma, lambda) and the leave-one-out mean absolute error there (target units)."""

    sigma: float
    lam: float
    loo_mae: float


def select_by_loo(distance: np.ndarray, y: np.ndarray, metric: Metric, *,
                  sigma: float | None = None, lam: float | None = None,
                  sigma_factors=DEFAULT_SIGMA_FACTORS, lambdas=DEFAULT_LAMBDAS) -> LOOResult:
    """Sigma and lambda by closed-form LOO (MAE) over the grid; a given value is kept fixed.

    Parameters
    ----------
    distance : (n, n) training distances of ``metric``
    y : (n,) targets (centred, if the model centres them)
    sigma, lam : fixed values (None: chosen). Sigma's grid is ``sigma_factors`` times the
        median training distance.
    """
    sigmas = [float(sigma)] if sigma is not None else [f * median_distance(distance) for f in sigma_factors]
    lams = [float(lam)] if lam is not None else list(lambdas)
    best = LOOResult(sigmas[-1], lams[-1], np.inf)
    for s in sigmas:
        K = kernel_from_distances(distance, metric, s, out=np.empty_like(distance))
        mae = np.abs(loo_residuals(K, y, lams)).mean(axis=1)
        for lam_k, m in zip(lams, mae, strict=True):
            if np.isfinite(m) and m < best.loo_mae:
                best = LOOResult(s, lam_k, float(m))
    return best
