"""Kernel ridge regression in scikit-learn style, and k-fold cross-validation of sigma and lambda.

The model solves ``(K + lambda I) alpha = y`` by Cholesky and predicts ``K_* alpha``.
Cross-validation computes the distance matrix once and reuses it for every sigma, lambda
and fold. No kernel matrix is formed that is not factorised: each fold's kernel block is
written from the distances straight into one reused Fortran-ordered workspace that LAPACK
factorises in place, and predictions are kernel-vector products computed from distances.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from .kernels import kernel_block, kernel_matvec
from .metrics import Metric, check_metric, distances, prepare
from ..progress import CancelToken, ProgressCallback, report

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


def cholesky_solve_in_place(a: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Solve ``A x = y`` for the lower triangle of a Fortran-ordered ``a``, destroying ``a``.

    Systems up to `LAPACK_LIMIT_BYTES` go to LAPACK's ``dpotrf``/``dpotrs`` at once; larger ones
    are factorised in column panels (`blocked_cholesky_in_place`), so that no single LAPACK call
    sees more than an (n, `PANEL`) block.

    Parameters
    ----------
    a : (n, n) Fortran-contiguous float64; its lower triangle holds ``K + lam I``
    y : (n,) or (n, k) right-hand sides
    lam : only for the error message

    Returns
    -------
    (n,) or (n, k) float64

    Raises
    ------
    SolveError
        if the matrix is not numerically positive definite
    """
    y = np.asarray(y, dtype=np.float64)
    if a.shape[0] ** 2 * 8 >= LAPACK_LIMIT_BYTES:
        if blocked_cholesky_in_place(a) != 0:
            raise SolveError(f"K + {lam:g} I is not positive definite: increase lambda")
        return blocked_cholesky_solve(a, y)
    c, info = lapack.dpotrf(a, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        raise SolveError(f"K + {lam:g} I is not positive definite: increase lambda")
    x, info = lapack.dpotrs(c, y, lower=1)
    if info != 0:  # pragma: no cover - only for malformed arguments
        raise SolveError(f"LAPACK dpotrs failed with info={info}")
    return x


#: Largest matrix (bytes) handed to LAPACK in one call. OpenBLAS's dpotrf (SciPy's 32-bit-integer
#: build and NumPy's 64-bit one alike) crashed with SIGSEGV on a 32,000 x 32,000 system (8.2 GB)
#: while 16,000 (2.05 GB) works: larger systems are factorised in panels instead.
LAPACK_LIMIT_BYTES = 2**31
#: Width of the column panels of `blocked_cholesky_in_place`.
PANEL = 2048


def blocked_cholesky_in_place(a: np.ndarray, panel: int | None = None) -> int:
    """Lower Cholesky factor of a Fortran-ordered ``a`` in place, one column panel at a time.

    The right-looking blocked algorithm: factor the diagonal block (LAPACK ``dpotrf``), solve
    for the panel below it (``dtrsm``), subtract the panel's outer product from the trailing
    lower triangle, one panel-wide column block at a time (``dgemm``). Every call sees at most
    an (n, ``panel``) block, and the extra memory is two such blocks.

    Parameters
    ----------
    a : (n, n) Fortran-contiguous float64; the lower triangle is read and replaced by the
        factor L (A = L L^T); the strict upper triangle is left in an unspecified state
    panel : block width (default `PANEL`)

    Returns
    -------
    0 on success, else the (1-based) order of the first leading minor that is not positive
    definite, as LAPACK's ``info``.
    """
    n, panel = a.shape[0], panel or PANEL
    for j0 in range(0, n, panel):
        j1 = min(j0 + panel, n)
        diag, info = lapack.dpotrf(np.asfortranarray(a[j0:j1, j0:j1]), lower=1, clean=1, overwrite_a=1)
        if info != 0:
            return j0 + info
        a[j0:j1, j0:j1] = diag
        if j1 == n:
            break
        below = scipy.linalg.solve_triangular(diag, a[j1:, j0:j1].T, lower=True, check_finite=False).T
        a[j1:, j0:j1] = below
        for k0 in range(j1, n, panel):
            k1 = min(k0 + panel, n)
            a[k0:, k0:k1] -= below[k0 - j1:] @ below[k0 - j1:k1 - j1].T
    return 0


def blocked_cholesky_solve(factor: np.ndarray, y: np.ndarray, panel: int | None = None) -> np.ndarray:
    """Solve ``L L^T x = y`` with the lower factor of `blocked_cholesky_in_place`, panel by panel.

    Parameters
    ----------
    factor : (n, n) L in the lower triangle
    y : (n,) or (n, k)
    panel : block width (default `PANEL`)

    Returns
    -------
    x : like ``y``, float64
    """
    n, panel = factor.shape[0], panel or PANEL
    x = np.array(y, dtype=np.float64)
    starts = range(0, n, panel)
    for j0 in starts:  # forward: L z = y
        j1 = min(j0 + panel, n)
        x[j0:j1] = scipy.linalg.solve_triangular(factor[j0:j1, j0:j1], x[j0:j1], lower=True, check_finite=False)
        x[j1:] -= factor[j1:, j0:j1] @ x[j0:j1]
    for j0 in reversed(starts):  # backward: L^T x = z
        j1 = min(j0 + panel, n)
        x[j0:j1] -= factor[j1:, j0:j1].T @ x[j1:]
        x[j0:j1] = scipy.linalg.solve_triangular(factor[j0:j1, j0:j1], x[j0:j1], lower=True, trans="T",
                                                 check_finite=False)
    return x


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
        return self.fit_distances(distances(self.metric, Xp, presorted=True), y, _X=Xp, overwrite=True)

    def fit_distances(self, distance: np.ndarray, y: np.ndarray, _X=None, *,
                      overwrite: bool = False) -> KernelRidge:
        """Fit from a precomputed (n, n) training distance matrix (then use `predict_distances`).

        ``overwrite=True`` lets the fit turn a C-contiguous ``distance`` into its Cholesky factor in
        place: the fit then needs no memory beyond the distances (32,000 molecules: 8.2 GB).
        """
        y = np.asarray(y, dtype=np.float64)
        n = distance.shape[0]
        if distance.shape != (n, n) or y.shape != (n,):
            raise ValueError(f"need (n, n) distances and (n,) targets, got {distance.shape} and {y.shape}")
        if overwrite and distance.flags.c_contiguous and distance.dtype == np.float64:
            # The transpose of a symmetric C-ordered matrix is the same matrix, Fortran-ordered:
            # entry (a, b) is read and then written by the same iteration, so in place is safe.
            work = distance.T
        else:
            work = np.empty((n, n), order="F")
        kernel_block(distance, np.arange(n), self.metric, self.sigma, self.lam, work)
        self.alpha_ = cholesky_solve_in_place(work, y, self.lam)
        self.X_fit_ = _X
        return self

    def predict_distances(self, distance: np.ndarray, columns: np.ndarray | None = None) -> np.ndarray:
        """Predictions from (m, n) distances between query and training points: (m,).

        ``columns``: the training points' column indices in ``distance`` when it has more columns
        (e.g. the first n of a larger nested training pool), so no sub-matrix is copied.
        """
        return kernel_matvec(distance, None, columns, self.metric, self.sigma, self.alpha_)

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
    m = min(n, 2000)
    block = distance[:m, :m]
    if not isinstance(block, np.ndarray):  # a torch tensor (`torch_backend`)
        block = block.cpu().numpy()
    med = float(np.median(block[np.triu_indices(m, k=1)]))
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


class _Folds:
    """k-fold CV scores of (sigma, lambdas) on one distance matrix, with one reused workspace."""

    def __init__(self, distance, y, metric, folds, seed, cancel):
        n = distance.shape[0]
        self.distance, self.y, self.metric, self.cancel, self.n = distance, y, metric, cancel, n
        self.val = [np.sort(v) for v in fold_indices(n, folds, seed)]
        self.train = [np.setdiff1d(np.arange(n), v, assume_unique=True) for v in self.val]
        self._buffer = np.empty(max(len(t) for t in self.train) ** 2)

    def _workspace(self, m):
        return self._buffer[: m * m].reshape((m, m), order="F")

    def mae(self, sigma: float, lambdas) -> np.ndarray:
        """(len(lambdas),) cross-validated MAE; inf where a fold's solve failed."""
        lambdas = np.atleast_1d(np.asarray(lambdas, dtype=float))
        abs_err = np.zeros(lambdas.size)
        failed = np.zeros(lambdas.size, dtype=bool)
        for tr, va in zip(self.train, self.val, strict=True):
            alphas = np.zeros((tr.size, lambdas.size))
            for j, lam in enumerate(lambdas):
                if self.cancel is not None:
                    self.cancel.check()
                if failed[j]:
                    continue
                work = kernel_block(self.distance, tr, self.metric, sigma, lam, self._workspace(tr.size))
                try:
                    alphas[:, j] = cholesky_solve_in_place(work, self.y[tr], lam)
                except SolveError:
                    failed[j] = True
            pred = kernel_matvec(self.distance, va, tr, self.metric, sigma, alphas)
            abs_err += np.abs(pred - self.y[va, None]).sum(axis=0)
        return np.where(failed, np.inf, abs_err / self.n)


def cross_validate(distance: np.ndarray, y: np.ndarray, metric: Metric, *, folds: int = 5,
                   sigma_factors=DEFAULT_SIGMA_FACTORS, lambdas=DEFAULT_LAMBDAS, seed: int = 0,
                   patience: int = 3, extend: int = 8, start: tuple[float, float] | None = None,
                   cancel: CancelToken | None = None,
                   progress: ProgressCallback | None = None, device: str = "cpu") -> CVResult:
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
    device : 'cpu' (numba + LAPACK) or a torch device such as 'cuda' (`torch_backend`);
        a torch tensor ``distance`` is worked on where it lies (torch's CPU device included)

    Returns
    -------
    CVResult
    """
    check_metric(metric)
    y = np.asarray(y, dtype=np.float64)
    if device == "cpu" and isinstance(distance, np.ndarray):
        cv = _Folds(distance, y, metric, folds, seed, cancel)
    else:
        from .torch_backend import TorchFolds

        val = [np.sort(v) for v in fold_indices(y.size, folds, seed)]
        train = [np.setdiff1d(np.arange(y.size), v, assume_unique=True) for v in val]
        cv = TorchFolds(distance, y, metric, val, train, cancel, device)
        distance = cv.D
    lambdas = np.asarray(lambdas, dtype=float)
    median = median_distance(distance)
    if start is None:
        return _grid_search(cv, median, np.sort(np.asarray(sigma_factors, dtype=float)), lambdas,
                            patience, extend, progress)
    factors = np.log2(np.asarray(sigma_factors, dtype=float))
    k_range = (int(np.floor(factors.min())) - 2, int(np.ceil(factors.max())) + extend)
    return _local_search(cv, median, lambdas, start, k_range, progress)


def _grid_search(cv: _Folds, median, factors, lambdas, patience, extend, progress) -> CVResult:
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


def _local_search(cv: _Folds, median, lambdas, start, k_range, progress) -> CVResult:
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
