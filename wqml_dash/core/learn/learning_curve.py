"""Learning curves with the paper's protocol (DESIGN.md), for any (order, metric) series.

Protocol: one seeded shuffle of the data set; the first ``n_test`` molecules are the test set,
the same for every size and series; training sets are the first ``n`` of the rest (nested, so
one distance matrix of the largest training set serves every size); sigma and lambda are
chosen per size by k-fold cross-validation on the training set alone.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import param

from ..features.bag_of_bonds import dataset_bob_vectors
from ..data.dataset import DEFAULT_TARGET, PROPERTIES, MolecularDataset
from .krr import DEFAULT_LAMBDAS, DEFAULT_SIGMA_FACTORS, KernelRidge, cross_validate
from .metrics import METRICS, distances, prepare
from ..progress import CancelToken, ProgressCallback, report
from ..features.coulomb_matrix import ORDERS, dataset_coulomb_vectors
from .torch_backend import resolve_device

#: Representations a learning curve can use: the Coulomb matrix and Bag of Bonds.
REPRESENTATIONS: dict[str, str] = {"cm": "Coulomb matrix", "bob": "Bag of Bonds"}

#: The paper's Fig. 3: L1 and L2 on random and sorted CMs, and W1.
PAPER_SERIES: tuple[str, ...] = ("random:l1", "sorted:l1", "random:l2", "sorted:l2", "sorted:w1")


def parse_series(spec: str) -> tuple[str, str]:
    """``'sorted:l1'`` -> ``('sorted', 'l1')``; raises ValueError naming the choices."""
    parts = spec.strip().lower().split(":")
    if len(parts) != 2 or parts[0] not in ORDERS or parts[1] not in METRICS:
        raise ValueError(f"series {spec!r} must be ORDER:METRIC with ORDER in {list(ORDERS)} "
                         f"and METRIC in {list(METRICS)}")
    return parts[0], parts[1]


def series_product(orders, metrics) -> list[str]:
    """Every order with every metric, W1 once only (it does not depend on the atom order)."""
    out: list[str] = []
    for metric in metrics:
        for order in orders:
            if metric == "w1" and any(s.endswith(":w1") for s in out):
                continue
            out.append(f"{order}:{metric}")
    return out


class LearningCurveSettings(param.Parameterized):
    """Every setting of a learning curve, with defaults, bounds and allowed values.

    The app builds its form from these parameters and the CLI maps its arguments onto them,
    so validation lives here only.
    """

    series = param.List(default=list(PAPER_SERIES), item_type=str, bounds=(1, None),
                        doc="(order, metric) pairs as 'ORDER:METRIC', e.g. 'sorted:l1'")
    sizes = param.List(default=[100, 200, 400, 800, 1600], item_type=int, bounds=(1, None),
                       doc="Training-set sizes")
    n_test = param.Integer(default=2000, bounds=(1, None), doc="Held-out test molecules")
    folds = param.Integer(default=5, bounds=(2, 20), doc="Cross-validation folds")
    seed = param.Integer(default=0, bounds=(0, None), doc="Seed of every random choice")
    target = param.Selector(default=DEFAULT_TARGET, objects=list(PROPERTIES),
                            doc="QM9 property to learn")
    sigma_factors = param.List(default=list(DEFAULT_SIGMA_FACTORS), item_type=float,
                               bounds=(1, None),
                               doc="Sigma grid as multiples of the median training distance")
    lambdas = param.List(default=list(DEFAULT_LAMBDAS), item_type=float, bounds=(1, None),
                         doc="Regularisation grid")
    device = param.Selector(default="auto", objects=["auto", "cpu", "cuda"],
                            doc="Where distances, cross-validation and fits run: 'cpu' (numba + LAPACK), "
                                "'cuda' (PyTorch on a GPU), 'auto' (the GPU where one is present)")
    search = param.Selector(default="local", objects=["local", "grid"],
                            doc="Hyperparameter search per size: 'grid' evaluates the whole sigma x "
                                "lambda grid; 'local' does so at the smallest size, then starts each "
                                "larger size from the previous optimum and walks the grid to a local "
                                "minimum of the CV error (about 5 instead of 40-75 evaluations)")
    representation = param.Selector(default="cm", objects=list(REPRESENTATIONS),
                                    doc="'cm': Coulomb matrix (the series' order applies); 'bob': Bag of "
                                        "Bonds (bags sorted, so the order of a series is irrelevant)")

    @param.depends("series", "sizes", "sigma_factors", "lambdas", watch=True, on_init=True)
    def _validate(self):
        for spec in self.series:
            parse_series(spec)
        if any(n < self.folds for n in self.sizes):
            raise ValueError(f"every training size must be at least folds={self.folds}")
        if any(s <= 0 for s in self.sigma_factors) or any(lam < 0 for lam in self.lambdas):
            raise ValueError("sigma factors must be positive and lambdas non-negative")

    def check_fits(self, n_molecules: int) -> None:
        """Raise ValueError if the test set and largest training set exceed the data set."""
        need = max(self.sizes) + self.n_test
        if need > n_molecules:
            raise ValueError(f"largest training size {max(self.sizes)} plus {self.n_test} test "
                             f"molecules exceeds the {n_molecules} molecules available")

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.param if k != "name"}


@dataclass
class CurvePoint:
    """One learning-curve point. Errors in the target's units (kcal/mol for the default)."""

    order: str
    metric: str
    n_train: int
    mae: float
    rmse: float
    sigma: float
    lam: float
    cv_mae: float
    fit_seconds: float
    predict_seconds: float
    predictions: np.ndarray = field(repr=False, default=None)

    @property
    def seconds(self) -> float:
        return self.fit_seconds + self.predict_seconds

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("predictions")
        d["lambda"] = d.pop("lam")
        d["seconds"] = self.seconds
        return d


@dataclass
class LearningCurveResult:
    """Points of every series, the test set used, and timings.

    Attributes
    ----------
    config : the settings as a dict
    points : CurvePoint per (series, size), in the order they finished
    test_rows : (n_test,) row positions of the test molecules in the data set
    y_test : (n_test,) their reference values
    distance_seconds : series -> seconds spent on representations and distance matrices
    wall_seconds : total
    """

    config: dict
    points: list[CurvePoint]
    test_rows: np.ndarray
    y_test: np.ndarray
    distance_seconds: dict[str, float]
    wall_seconds: float

    def to_json(self) -> dict:
        return {"config": self.config, "points": [p.to_json() for p in self.points],
                "distance_seconds": self.distance_seconds, "wall_seconds": self.wall_seconds}


def split_rows(n_molecules: int, n_train_max: int, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded split: (training pool of n_train_max rows, test rows of n_test), disjoint."""
    perm = np.random.default_rng(seed).permutation(n_molecules)
    return perm[n_test:n_test + n_train_max], perm[:n_test]


def series_features(dataset: MolecularDataset, rows: np.ndarray, order: str, metric: str,
                    seed: int, representation: str = "cm") -> np.ndarray:
    """Representations of ``rows`` for one series, prepared for ``distances(metric, ...,
    presorted=True)`` (W1: entries sorted).

    Parameters
    ----------
    dataset : the molecules
    rows : (m,) row positions in ``dataset``
    order, metric : the series
    seed : seeds the random order
    representation : 'cm' (Coulomb matrix in ``order``) or 'bob' (Bag of Bonds over the bags
        of the whole data set; ``order`` and ``seed`` do not change it)

    Returns
    -------
    (m, d) float64: d = size*(size+1)/2 for 'cm' (435 for QM9), the bag layout's length for
    'bob' (713 for QM9)
    """
    if representation == "bob":
        return prepare(metric, dataset_bob_vectors(dataset, rows))
    if representation != "cm":
        raise ValueError(f"unknown representation {representation!r}; choose one of {list(REPRESENTATIONS)}")
    return prepare(metric, dataset_coulomb_vectors(dataset, rows, order=order, seed=seed))


def fit_point(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
              order: str, metric: str, n: int, settings: LearningCurveSettings, *,
              D_train: np.ndarray | None = None, D_test: np.ndarray | None = None,
              start: tuple[float, float] | None = None,
              cancel: CancelToken | None = None,
              progress: ProgressCallback | None = None) -> CurvePoint:
    """One learning-curve point: cross-validate, fit on the first ``n`` training molecules, test.

    This is the unit of work of a learning curve (one series, one size); the runs layer sends
    each as a task, `run_learning_curve` loops over them.

    Parameters
    ----------
    X_train : (n_pool, d) prepared representations of the training pool (`series_features`);
        the first ``n`` are used (training sets are nested)
    y_train : (n_pool,) targets of the pool
    X_test : (n_test, d) prepared test representations
    y_test : (n_test,) test targets
    order, metric : the series
    n : training-set size, <= n_pool
    settings : folds, seed and the sigma / lambda grids
    D_train : optional (>= n, >= n) precomputed training distances (top-left block used)
    D_test : optional (n_test, >= n) precomputed test-to-training distances
    start : optional (sigma, lambda) to start a local hyperparameter search from (the optimum of
        a smaller size); None searches the whole grid (see `cross_validate`)
    cancel : checked between solves
    progress : ``progress(done, total, message)`` of the cross-validation

    Returns
    -------
    CurvePoint
    """
    if not settings.folds <= n <= X_train.shape[0]:
        raise ValueError(f"training size {n} must be between folds={settings.folds} and the pool "
                         f"of {X_train.shape[0]}")
    device = resolve_device(settings.device)
    if device != "cpu":
        return _fit_point_torch(X_train, y_train, X_test, y_test, order, metric, n, settings, device,
                                start=start, cancel=cancel, progress=progress)
    t0 = time.perf_counter()
    d_nn = D_train[:n, :n] if D_train is not None else distances(metric, X_train[:n], presorted=True)
    cv = cross_validate(d_nn, y_train[:n], metric, folds=settings.folds,
                        sigma_factors=settings.sigma_factors, lambdas=settings.lambdas,
                        seed=settings.seed, start=start if settings.search == "local" else None,
                        cancel=cancel, progress=progress)
    model = KernelRidge(metric, cv.sigma, cv.lam).fit_distances(d_nn, y_train[:n])
    t1 = time.perf_counter()
    if D_test is None:
        D_test = distances(metric, X_test, X_train[:n], presorted=True)
    pred = model.predict_distances(D_test, columns=np.arange(n))
    t2 = time.perf_counter()
    return _point(order, metric, n, cv, pred, y_test, t1 - t0, t2 - t1)


def _point(order, metric, n, cv, pred, y_test, fit_seconds, predict_seconds) -> CurvePoint:
    err = pred - y_test
    return CurvePoint(order=order, metric=metric, n_train=n,
                      mae=float(np.abs(err).mean()), rmse=float(np.sqrt((err ** 2).mean())),
                      sigma=cv.sigma, lam=cv.lam, cv_mae=cv.mae,
                      fit_seconds=fit_seconds, predict_seconds=predict_seconds, predictions=pred)


def _fit_point_torch(X_train, y_train, X_test, y_test, order, metric, n, settings, device, *,
                     start, cancel, progress) -> CurvePoint:
    """`fit_point` on a torch device: distances, cross-validation, fit and prediction there."""
    from .torch_backend import distances_torch, fit_torch, predict_torch

    t0 = time.perf_counter()
    d_nn = distances_torch(metric, X_train[:n], presorted=True, device=device, as_numpy=False)
    cv = cross_validate(d_nn, y_train[:n], metric, folds=settings.folds,
                        sigma_factors=settings.sigma_factors, lambdas=settings.lambdas,
                        seed=settings.seed, start=start if settings.search == "local" else None,
                        cancel=cancel, progress=progress, device=device)
    alpha = fit_torch(d_nn, y_train[:n], metric, cv.sigma, cv.lam, device)
    t1 = time.perf_counter()
    d_test = distances_torch(metric, X_test, X_train[:n], presorted=True, device=device, as_numpy=False)
    pred = predict_torch(d_test, alpha, metric, cv.sigma, device)
    t2 = time.perf_counter()
    return _point(order, metric, n, cv, pred, y_test, t1 - t0, t2 - t1)


def run_learning_curve(dataset: MolecularDataset, settings: LearningCurveSettings, *,
                       progress: ProgressCallback | None = None,
                       cancel: CancelToken | None = None,
                       on_point=None) -> LearningCurveResult:
    """Run the protocol for every series and size of ``settings``, in this process.

    Parameters
    ----------
    dataset : the molecules (QM9 from `qm9.load_qm9`)
    settings : what to run
    progress : ``progress(done, total, message)``, one unit per (series, size) point
    cancel : a `CancelToken`; raises `Cancelled` soon after it is set
    on_point : optional ``on_point(CurvePoint)`` as each point finishes

    Returns
    -------
    LearningCurveResult
    """
    start = time.perf_counter()
    settings.check_fits(len(dataset))
    sizes = sorted(set(settings.sizes))
    series = [parse_series(s) for s in settings.series]
    train_rows, test_rows = split_rows(len(dataset), sizes[-1], settings.n_test, settings.seed)
    y_all = dataset.target(settings.target)
    y_train, y_test = y_all[train_rows], y_all[test_rows]
    rows = np.concatenate([train_rows, test_rows])
    total = len(series) * len(sizes)
    points: list[CurvePoint] = []
    distance_seconds: dict[str, float] = {}

    for order, metric in series:
        label = f"{order}:{metric}"
        report(progress, len(points), total, f"{label}: representations and distances")
        t0 = time.perf_counter()
        X = series_features(dataset, rows, order, metric, settings.seed, settings.representation)
        X_train, X_test = X[: sizes[-1]], X[sizes[-1]:]
        # One distance matrix of the largest size serves every (nested) size.
        D_train = distances(metric, X_train, presorted=True)
        D_test = distances(metric, X_test, X_train, presorted=True)
        distance_seconds[label] = time.perf_counter() - t0

        for n in sizes:
            if cancel is not None:
                cancel.check()
            done = len(points)

            def cv_progress(i, k, msg, _where=f"{label} n={n}", _done=done):
                report(progress, _done, total, f"{_where}: cross-validation {msg}")

            warm = (points[-1].sigma, points[-1].lam) if n != sizes[0] else None
            point = fit_point(X_train, y_train, X_test, y_test, order, metric, n, settings,
                              D_train=D_train, D_test=D_test, start=warm, cancel=cancel,
                              progress=cv_progress)
            points.append(point)
            if on_point is not None:
                on_point(point)
            report(progress, len(points), total, f"{label} n={n}: MAE {point.mae:.2f}")
        del D_train, D_test

    return LearningCurveResult(config=settings.to_dict(), points=points, test_rows=test_rows,
                               y_test=y_test, distance_seconds=distance_seconds,
                               wall_seconds=time.perf_counter() - start)
