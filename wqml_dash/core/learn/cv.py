"""Choosing sigma and lambda: k-fold cross-validation (grid and local search, bounded, with the
optimum's edge flags and CV table) and closed-form leave-one-out, on one precomputed distance
matrix, with the one sigma/lambda grid of the package.

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
#: How far a search may go past the grid while its optimum sits on an edge of it: sigma by up to
#: SIGMA_EXTEND factors of two at either end, lambda by up to LAMBDA_EXTEND steps of the grid's
#: spacing at either end, but never below LAMBDA_FLOOR. The default grid thus searches sigma from
#: 1/64 to 65,536 times the median training distance and lambda from 1e-10 to 1; an optimum still
#: on an edge is flagged (`CVResult.at_edge`).
SIGMA_EXTEND = 4
LAMBDA_EXTEND = 1
#: Smallest lambda a search extends to. Every kernel here has a unit diagonal, so lambda is relative
#: to it; below 1e-10 the Cholesky solves of thousands of points are at double precision's limit and
#: the CV error only drifts along the wide-kernel ridge (sigma up, lambda down; see `cross_validate`).
LAMBDA_FLOOR = 1e-10
#: The edges an optimum can sit on (`CVResult.at_edge`), with what each means: the CV error was
#: still falling where the search had to stop, so the true optimum lies beyond the searched range.
EDGE_MEANINGS: dict[str, str] = {
    "sigma-low": "the smallest sigma searched",
    "sigma-high": "the largest sigma searched",
    "lambda-low": "the smallest lambda searched",
    "lambda-high": "the largest lambda searched",
}
EDGES: tuple[str, ...] = tuple(EDGE_MEANINGS)
#: The searches of `cross_validate`.
SEARCHES: tuple[str, ...] = ("local", "grid")
#: The default search's coarse probe stops after this many probed sigmas in a row did not improve.
PROBE_PATIENCE = 2
#: The default search probes training sets up to this size (where it was checked against the grid:
#: ``benchmarks/search_vs_grid.py``); a larger one starts from the best `CARRY` ends of the search
#: of its first half (nested, an eighth of the cost per evaluation), which keeps 10,000 affordable
#: but is not checked against the grid there (at 1,000 from 500, on another split, random L1 stayed
#: on the wide-kernel ridge: 0.4 % above the grid's CV error).
PROBE_SIZE = 2000
CARRY = 3


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
    sigma, lam : the chosen hyperparameters (sigma in the metric's distance units)
    mae : cross-validated MAE at the optimum, in the target's units
    sigmas : (m,) ascending sigmas the search moved on (the evaluated range)
    lambdas : (l,) ascending lambdas it could use (the grid with its extensions)
    scores : (m, l) cross-validated MAE; inf where the solve failed, NaN where the search did not
        evaluate
    evaluations : number of (sigma, lambda) pairs evaluated (each costs ``folds`` factorisations)
    median : the median training distance that sigma is measured against (`median_distance`)
    at_edge : '' if the optimum is inside the searched range, else the edges it sits on (see
        `EDGES`), comma-separated, e.g. 'sigma-high,lambda-low': the CV error was still falling
        where the search had to stop, so the true optimum lies beyond the stated range
    """

    sigma: float
    lam: float
    mae: float
    sigmas: np.ndarray
    lambdas: np.ndarray
    scores: np.ndarray = field(repr=False)
    evaluations: int = 0
    median: float = 1.0
    at_edge: str = ""

    @property
    def sigma_factor(self) -> float:
        """The chosen sigma as a multiple of the median training distance (dimensionless)."""
        return self.sigma / self.median

    def table(self) -> np.ndarray:
        """Every evaluated point: (k, 3) rows of (sigma, lambda, cross-validated MAE), by sigma then
        lambda; MAE inf where the solve failed. The optimum is one of the rows."""
        i, j = np.nonzero(~np.isnan(self.scores))
        return np.column_stack([self.sigmas[i], self.lambdas[j], self.scores[i, j]])


def cross_validate(distance: np.ndarray, y: np.ndarray, metric: Metric, *, folds: int = 5,
                   sigma_factors=DEFAULT_SIGMA_FACTORS, lambdas=DEFAULT_LAMBDAS, seed: int = 0,
                   search: str | None = None, patience: int = 3,
                   extend: int | tuple[int, int] = (SIGMA_EXTEND, LAMBDA_EXTEND),
                   start: tuple[float, float] | None = None, probe_size: int = PROBE_SIZE,
                   cancel: CancelToken | None = None,
                   progress: ProgressCallback | None = None, backend: Backend | None = None) -> CVResult:
    """k-fold cross-validation of sigma and lambda on one precomputed distance matrix.

    Sigma is searched as ``median_distance(distance) * sigma_factors``, lambda over ``lambdas``.
    Either search may go past the grid while its optimum sits on an edge of it, by at most
    ``extend`` steps at either end (sigma: factors of two; lambda: the grid's spacing at that
    end; lambda not below `LAMBDA_FLOOR`), and then reports the edges the optimum is still on
    (`CVResult.at_edge`). An axis with a single value is fixed: not extended, never flagged.

    The CV error of the Laplacian and W1 kernels often has two valleys: a basin at a few to a few
    dozen times the median distance, and a long, nearly flat ridge towards sigma -> infinity with
    lambda -> 0 (there ``exp(-d / sigma) ~ 1 - d / sigma``: the model tends to interpolation with
    the kernel ``-d`` plus a constant, which also carries the targets' large mean; on QM9 random-order
    CMs at a few hundred molecules this ridge is the lower one). A search started on the ridge
    stays on it; the default search therefore starts every size from its own coarse probe.

    - ``search="grid"``: the whole grid. Sigmas are tried in increasing order with every lambda;
      the search stops once ``patience`` consecutive sigmas failed to improve on the best MAE;
      then, while the best point is on an edge, a row (sigma) or column (lambda) is added beyond it.
    - ``search="local"``: steepest descent on the lattice ``sigma = median * sigma_factors[0] *
      2**k`` (integer k) by ``lambdas``: from a start, move to the best of the four neighbours (one
      step in sigma or lambda) while it is better; the best of the walks' ends wins. The walks
      start from ``start`` if given; else, up to ``probe_size`` points, from a coarse probe: every
      other sigma of the grid, upwards, each with the grid's smallest, middle and largest lambda,
      until `PROBE_PATIENCE` sigmas in a row failed to improve; one walk from each of those
      lambdas' best sigma (the Gaussian kernel's CV error has valleys along sigma and lambda
      together, which one start would miss). Above ``probe_size`` points, the walks start from the
      best `CARRY` ends of this same search on the first half of the points (nested, each
      evaluation an eighth of the cost here; see `PROBE_SIZE`). Without ``start`` the result is a
      function of this training set alone. On QM9 (the paper's five series at 125-2,000, seed 0) its
      CV error equals the grid's at 24 of 25 points, with 50-80 % of the evaluations; at sorted L2,
      2,000 it stops 1.7 % above, in another local minimum of the Gaussian's diagonal valley
      (``benchmarks/search_vs_grid.py``, ``tests/core/test_hyperparameter_search.py``).
    - ``search=None``: "grid" without ``start``, "local" with one.

    Parameters
    ----------
    distance : (n, n) symmetric training distances of ``metric``
    y : (n,) targets
    metric : 'l1', 'l2' or 'w1'
    folds : number of folds, 2..n
    sigma_factors : sigma grid as multiples of the median training distance (> 0)
    lambdas : lambda grid (>= 0)
    seed : shuffles the folds
    search : 'local', 'grid' or None (see above)
    patience : the grid's; 0 evaluates the whole grid
    extend : steps the search may go past each end of the grid: one int for both axes, or
        (sigma steps, lambda steps); 0 keeps the grid as given
    start : optional (sigma, lambda) where a local search starts (instead of its probe)
    probe_size : the largest training set the local search probes (see above)
    cancel : checked between factorisations
    progress : ``progress(done, total, message)`` per evaluated sigma (grid) or pair (local)
    backend : where the folds are solved (`backends`); default: the backend of ``distance``
        (NumPy for an array, PyTorch on the tensor's device for a tensor)

    Returns
    -------
    CVResult
    """
    check_metric(metric)
    search = search or ("grid" if start is None else "local")
    if search not in SEARCHES:
        raise ValueError(f"unknown search {search!r}; choose one of {list(SEARCHES)}")
    y = np.asarray(y, dtype=np.float64)
    backend = backend if backend is not None else backend_of(distance)
    factors = np.unique(np.asarray(sigma_factors, dtype=float))
    lambdas = np.unique(np.asarray(lambdas, dtype=float))
    if factors.size == 0 or lambdas.size == 0 or factors[0] <= 0 or lambdas[0] < 0:
        raise ValueError("sigma factors must be positive and lambdas non-negative, at least one of each")
    ext_s, ext_l = (extend, extend) if np.isscalar(extend) else extend
    ext_s, ext_l = (int(ext_s) if factors.size > 1 else 0), (int(ext_l) if lambdas.size > 1 else 0)
    if search == "grid":
        cv, median = _folds(distance, y, metric, folds, seed, backend, cancel)
        return _grid_search(cv, median, factors, lambdas, patience, ext_s, ext_l, progress)
    return _local_search(distance, y, metric, folds, seed, backend, cancel, factors, lambdas, ext_s, ext_l,
                         start, probe_size, progress)[0]


def _folds(distance, y, metric, folds, seed, backend, cancel) -> tuple[FoldScorer, float]:
    """The fold scorer of (distance, y) and their median distance."""
    val, train = fold_split(y.size, folds, seed)
    median = median_distance(backend.to_numpy(distance[:MEDIAN_SAMPLE, :MEDIAN_SAMPLE]))
    return backend.folds(distance, y, metric, val, train, cancel), median


def _local_search(distance, y, metric, folds, seed, backend, cancel, factors, lambdas, ext_s, ext_l, start,
                  probe_size, progress) -> tuple[CVResult, list[tuple[float, float]]]:
    """The local search of `cross_validate`; also returns the (sigma, lambda) of its best `CARRY`
    distinct ends, best first (where the search of twice as many points starts)."""
    n = y.size
    cv, median = _folds(distance, y, metric, folds, seed, backend, cancel)
    lattice = _Lattice(median, factors, lambdas, ext_s, ext_l)
    score = _Scores(cv, lattice, progress)
    if start is not None:
        starts = [lattice.nearest(start)]
    elif n <= probe_size or n // 2 < folds:
        starts = _probe(score, lattice)
    else:  # the search of the first half of the points (nested: the same data, a quarter of the cost)
        half = n // 2
        _, ends = _local_search(distance[:half, :half], y[:half], metric, folds, seed, backend, cancel, factors,
                                lambdas, ext_s, ext_l, None, probe_size, None)
        starts = list(dict.fromkeys(lattice.nearest(e) for e in ends))
    ends = sorted(dict.fromkeys(_walk(score, lattice, first) for first in starts), key=score.seen.get)
    return score.result(ends[0]), [(lattice.sigma(k), float(lattice.lambdas[j])) for k, j in ends[:CARRY]]


def _lambda_extension(lambdas: np.ndarray, steps: int) -> tuple[list[float], list[float]]:
    """The lambdas an ascending grid may extend to: (below, ascending; above, ascending), at most
    ``steps`` each, spaced like the grid at that end, none below `LAMBDA_FLOOR`, none below 0."""
    if lambdas.size < 2 or steps <= 0:
        return [], []
    below = []
    if lambdas[0] > 0:
        ratio = lambdas[1] / lambdas[0]
        below = [v for v in (lambdas[0] / ratio ** e for e in range(steps, 0, -1)) if v >= LAMBDA_FLOOR * (1 - 1e-9)]
    above = [lambdas[-1] * (lambdas[-1] / lambdas[-2]) ** e for e in range(1, steps + 1)] if lambdas[-2] > 0 else []
    return below, above


def _edges(i: int, j: int, sigmas: np.ndarray, lambdas: np.ndarray, sigma_fixed: bool, lambda_fixed: bool) -> str:
    """The edges of the searched (sigmas x lambdas) the point (i, j) sits on, as `CVResult.at_edge`."""
    flags = []
    if not sigma_fixed:
        flags += ["sigma-low"] if i == 0 else []
        flags += ["sigma-high"] if i == sigmas.size - 1 else []
    if not lambda_fixed:
        flags += ["lambda-low"] if j == 0 and lambdas[0] > 0 else []
        flags += ["lambda-high"] if j == lambdas.size - 1 else []
    return ",".join(flags)


def _grid_search(cv: FoldScorer, median, factors, lambdas, patience, ext_s, ext_l, progress) -> CVResult:
    sigmas = median * factors
    scores = np.full((sigmas.size, lambdas.size), np.nan)
    best, since_best = np.inf, 0
    for s in range(sigmas.size):
        scores[s] = cv.mae(sigmas[s], lambdas)
        report(progress, s + 1, sigmas.size, f"sigma {s + 1}/{sigmas.size}")
        if scores[s].min() < best:
            best, since_best = scores[s].min(), 0
        else:
            since_best += 1
            if patience and since_best >= patience:
                scores, sigmas = scores[: s + 1], sigmas[: s + 1]
                break
    below, above = _lambda_extension(lambdas, ext_l)
    room = {"sigma-low": ext_s, "sigma-high": ext_s}
    while True:
        if not np.isfinite(scores).any():
            raise SolveError("no sigma and lambda in the grid gave a positive definite system")
        i, j = np.unravel_index(np.argmin(np.where(np.isnan(scores), np.inf, scores)), scores.shape)
        if i == sigmas.size - 1 and room["sigma-high"]:  # still improving at the top: continue upwards
            room["sigma-high"] -= 1
            sigmas = np.append(sigmas, sigmas[-1] * 2.0)
            scores = np.vstack([scores, cv.mae(sigmas[-1], lambdas)])
        elif i == 0 and room["sigma-low"]:
            room["sigma-low"] -= 1
            sigmas = np.insert(sigmas, 0, sigmas[0] / 2.0)
            scores = np.vstack([cv.mae(sigmas[0], lambdas), scores])
        elif j == lambdas.size - 1 and above:
            lambdas = np.append(lambdas, above.pop(0))
            scores = np.column_stack([scores, [cv.mae(s, lambdas[-1:])[0] for s in sigmas]])
        elif j == 0 and below:
            lambdas = np.insert(lambdas, 0, below.pop())
            scores = np.column_stack([[cv.mae(s, lambdas[:1])[0] for s in sigmas], scores])
        else:
            break
        report(progress, sigmas.size, sigmas.size, f"extending the grid: {np.isfinite(scores).sum()} evaluated")
    edges = _edges(i, j, sigmas, lambdas, factors.size == 1, lambdas.size == 1)
    return CVResult(sigma=float(sigmas[i]), lam=float(lambdas[j]), mae=float(scores[i, j]), sigmas=sigmas,
                    lambdas=lambdas, scores=scores, evaluations=int((~np.isnan(scores)).sum()), median=median,
                    at_edge=edges)


class _Lattice:
    """Where a local search may go: ``sigma = unit * 2**k`` for integer k in [k_lo, k_hi] (the grid's
    ``[0, top]`` and ``ext_s`` more at either end), lambda = ``lambdas[j]`` (the grid ascending, with
    ``ext_l`` steps more at either end where it can extend)."""

    def __init__(self, median: float, factors: np.ndarray, lambdas: np.ndarray, ext_s: int, ext_l: int):
        self.unit = median * factors[0]
        self.median = median
        self.top = int(round(np.log2(factors[-1] / factors[0])))
        self.k_lo, self.k_hi = -ext_s, self.top + ext_s
        below, above = _lambda_extension(lambdas, ext_l)
        self.lambdas = np.array([*below, *lambdas, *above])
        # the grid's smallest, middle and largest lambda
        self.probe_js = sorted({len(below) + j for j in (0, lambdas.size // 2, lambdas.size - 1)})
        self.sigma_fixed, self.lambda_fixed = factors.size == 1, lambdas.size == 1

    def sigma(self, k: int) -> float:
        return self.unit * 2.0 ** k

    def contains(self, point: tuple[int, int]) -> bool:
        return self.k_lo <= point[0] <= self.k_hi and 0 <= point[1] < self.lambdas.size

    def nearest(self, start: tuple[float, float]) -> tuple[int, int]:
        sigma0, lam0 = start
        if not (sigma0 > 0 and lam0 >= 0):
            raise ValueError(f"start must be (sigma > 0, lambda >= 0), got {start}")
        k = int(np.clip(round(np.log2(sigma0 / self.unit)), self.k_lo, self.k_hi))
        logs = np.log10(np.maximum(self.lambdas, 1e-300))
        return k, int(np.argmin(np.abs(logs - np.log10(max(lam0, 1e-300)))))

    def probe_ks(self) -> list[int]:
        ks = list(range(0, self.top + 1, 2))
        return ks if ks[-1] == self.top else [*ks, self.top]


class _Scores:
    """The CV MAE of lattice points, each evaluated once (``seen``)."""

    def __init__(self, cv: FoldScorer, lattice: _Lattice, progress):
        self.cv, self.lattice, self.progress = cv, lattice, progress
        self.seen: dict[tuple[int, int], float] = {}

    def __call__(self, point: tuple[int, int]) -> float:
        if point not in self.seen:
            self.evaluate([point])
        return self.seen[point]

    def evaluate(self, points) -> None:
        """Evaluate the points not seen yet, one `FoldScorer.mae` call per sigma (the lambdas of one
        sigma share each fold's kernel products)."""
        by_k: dict[int, list[int]] = {}
        for k, j in dict.fromkeys(points):
            if (k, j) not in self.seen:
                by_k.setdefault(k, []).append(j)
        for k, js in by_k.items():
            for j, v in zip(js, self.cv.mae(self.lattice.sigma(k), self.lattice.lambdas[js]), strict=True):
                self.seen[(k, j)] = float(v)
            n = len(self.seen)
            report(self.progress, n, n + 1, f"local search: {n} evaluated")

    def result(self, point: tuple[int, int]) -> CVResult:
        lat = self.lattice
        if not np.isfinite(self.seen[point]):
            raise SolveError("no sigma and lambda the search reached gave a positive definite system; "
                             "try larger lambdas")
        ks = [p[0] for p in self.seen]
        k_all = np.arange(min(ks), max(ks) + 1)
        scores = np.full((k_all.size, lat.lambdas.size), np.nan)
        for (k, j), v in self.seen.items():
            scores[k - k_all[0], j] = v
        # the searched range is the lattice: an optimum on its bound is on the edge
        edges = _edges(point[0] - lat.k_lo, point[1], np.arange(lat.k_lo, lat.k_hi + 1), lat.lambdas,
                       lat.sigma_fixed, lat.lambda_fixed)
        return CVResult(sigma=float(lat.sigma(point[0])), lam=float(lat.lambdas[point[1]]),
                        mae=self.seen[point], sigmas=lat.sigma(k_all), lambdas=lat.lambdas, scores=scores,
                        evaluations=len(self.seen), median=lat.median, at_edge=edges)


def _probe(score: _Scores, lattice: _Lattice) -> list[tuple[int, int]]:
    """Where the walks start: a coarse probe of the grid (every other sigma, upwards, each with the
    grid's smallest, middle and largest lambda, until `PROBE_PATIENCE` sigmas in a row failed to
    improve); for each of those lambdas, its best sigma; best first."""
    best, since_best = np.inf, 0
    for k in lattice.probe_ks():
        score.evaluate([(k, j) for j in lattice.probe_js])
        values = [score((k, j)) for j in lattice.probe_js]
        if min(values) < best:
            best, since_best = min(values), 0
        else:
            since_best += 1
            if since_best >= PROBE_PATIENCE:
                break
    if not np.isfinite(best):
        raise SolveError("no sigma of the grid gave a positive definite system; try larger lambdas")
    starts = {}
    for (k, j), v in score.seen.items():
        if np.isfinite(v) and (j not in starts or v < score.seen[starts[j]]):
            starts[j] = (k, j)
    return sorted(starts.values(), key=score.seen.get)


def _walk(score: _Scores, lattice: _Lattice, current: tuple[int, int]) -> tuple[int, int]:
    """Steepest descent from ``current``: move to the best of the four neighbours (one step in sigma
    or lambda) while it is better; end at a point better than all four."""
    best = score(current)
    while True:
        around = [p for p in (_shift(current, axis, step) for axis in (0, 1) for step in (-1, 1))
                  if lattice.contains(p)]
        if not around:
            return current
        score.evaluate(around)
        nxt = min(around, key=score)
        if not score(nxt) < best:
            return current
        current, best = nxt, score(nxt)


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
