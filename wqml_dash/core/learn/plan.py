"""The learning-curve protocol as one plan of steps, run alike in this process and on Dask.

Protocol (DESIGN.md): one seeded shuffle of the data set; the first ``n_test`` molecules are the
test set, the same for every size and series; training sets are the first ``n`` of the rest
(nested); sigma and lambda are chosen per size by k-fold cross-validation on the training set
alone.

A run is planned as chains (`plan_chains`), one per (series, seed), of three kinds of step:

1. `prepare_inputs`: the representations of the seed's training pool and test set, shared by
   every series that compares the same vectors (`Series.features_key`: L1 and L2 of one order);
2. `compute_distances`: the distances of the chain's series, once, for the largest training set
   and the test set; every (nested) size reads its top-left block;
3. `fit_point`, once per size, smallest first: cross-validate, fit, predict the test set. Every
   point's hyperparameter search uses its own training set only (`cv.cross_validate`: a coarse
   probe and a local search, or the whole grid), so a point does not depend on which other sizes
   the run has, and the points of a chain may run in any order.

`learning_curve.run_learning_curve` runs the steps one after another; the runs layer
(`wqml_dash.runs.tasks`, `wqml_dash.runs.executor`) sends each step as a Dask task, with the
previous steps' futures as its inputs. Both reuse the distances the same way, because both follow
these chains.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..data.dataset import MolecularDataset
from ..features.bag_of_bonds import dataset_bob_vectors
from ..features.coulomb_matrix import dataset_coulomb_vectors
from ..progress import CancelToken, ProgressCallback
from .backends import Backend, get_backend
from .cv import cross_validate
from .krr import KernelRidge
from .metrics import prepare
from .results import CurvePoint
from .series import REPRESENTATIONS, Series
from .settings import LearningCurveSettings


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


# --- the plan --------------------------------------------------------------------------------

@dataclass(frozen=True)
class PointTask:
    """One point of a run: a series at a training size, for one seed.

    Attributes
    ----------
    series : the series key, 'ORDER:METRIC'
    size : training-set size
    seed : the seed whose split and folds it uses
    warm_start : always None: a point's search no longer starts from another point's optimum
        (kept for callers that still pass the field on)
    """

    series: str
    size: int
    seed: int
    warm_start: PointTask | None = None

    @property
    def key(self) -> tuple[str, int, int]:
        return (self.series, self.size, self.seed)


@dataclass(frozen=True)
class Chain:
    """The steps of one (series, seed): shared inputs, one distance matrix, the points by size.

    Attributes
    ----------
    series : the `Series` (with the run's representation)
    seed : the seed
    inputs_key : chains with equal keys share `prepare_inputs`' result
    points : the chain's `PointTask`s, smallest size first
    """

    series: Series
    seed: int
    inputs_key: tuple
    points: tuple[PointTask, ...]


def plan_chains(tasks, representation: str = "cm", search: str = "local") -> list[Chain]:
    """The chains that compute ``tasks``, in the order the tasks first appear.

    Parameters
    ----------
    tasks : iterable of ``(series key, size, seed)``: every point of a run, or the ones still
        missing when a run is resumed
    representation : the run's representation ('cm' or 'bob')
    search : the run's hyperparameter search ('local' or 'grid'); neither chains one point's
        search to another's, so every `PointTask.warm_start` is None

    Returns
    -------
    list of `Chain`
    """
    grouped: dict[tuple[str, int], list[int]] = {}
    for series, size, seed in tasks:
        grouped.setdefault((series, int(seed)), []).append(int(size))
    chains = []
    for (series, seed), sizes in grouped.items():
        s = Series.parse(series, representation)
        points = [PointTask(s.key, size, seed) for size in sorted(set(sizes))]
        chains.append(Chain(series=s, seed=seed, inputs_key=(seed, *s.features_key()), points=tuple(points)))
    return chains


# --- the steps -------------------------------------------------------------------------------

@dataclass
class SeriesInputs:
    """Prepared representations of one seed's training pool and test set for one kind of series.

    Attributes
    ----------
    X_train : (n_pool, d) `series_features` of the pool (the largest training size)
    y_train : (n_pool,) targets of the pool
    X_test : (n_test, d) prepared test representations
    y_test : (n_test,) test targets
    test_rows : (n_test,) row positions of the test molecules in the data set
    seconds : time spent preparing them
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    test_rows: np.ndarray
    seconds: float


def prepare_inputs(dataset: MolecularDataset, settings: LearningCurveSettings, series: Series | str,
                   seed: int | None = None) -> SeriesInputs:
    """Step 1: the representations of ``seed``'s split (default: ``settings.seed``) for ``series``.

    Raises
    ------
    ValueError
        if the largest training size and the test set do not fit in the data set
    """
    t0 = time.perf_counter()
    s = Series.parse(series, settings.representation)
    seed = settings.seed if seed is None else int(seed)
    settings.check_fits(len(dataset))
    train_rows, test_rows = split_rows(len(dataset), max(settings.sizes), settings.n_test, seed)
    X = series_features(dataset, np.concatenate([train_rows, test_rows]), s.order, s.metric, seed,
                        s.representation)
    y = dataset.target(settings.target)
    n_pool = train_rows.size
    return SeriesInputs(X_train=X[:n_pool], y_train=y[train_rows], X_test=X[n_pool:], y_test=y[test_rows],
                        test_rows=test_rows, seconds=time.perf_counter() - t0)


@dataclass
class SeriesDistances:
    """Step 2's result: the distances of one series (arrays of the backend that computed them).

    Attributes
    ----------
    train : (n_pool, n_pool) distances of the training pool; size n reads ``train[:n, :n]``
    test : (n_test, n_pool) test-to-pool distances; size n reads the first n columns
    seconds : time spent computing them
    """

    train: object
    test: object
    seconds: float


def compute_distances(inputs: SeriesInputs, metric: str, backend: Backend | None = None) -> SeriesDistances:
    """Step 2: one distance matrix of the largest training set, and the test set's to it."""
    backend = backend or get_backend("cpu")
    t0 = time.perf_counter()
    train = backend.distances(metric, inputs.X_train, presorted=True)
    test = backend.distances(metric, inputs.X_test, inputs.X_train, presorted=True)
    return SeriesDistances(train=train, test=test, seconds=time.perf_counter() - t0)


def fit_point(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
              order: str, metric: str, n: int, settings: LearningCurveSettings, *,
              D_train=None, D_test=None, start: tuple[float, float] | None = None,
              cancel: CancelToken | None = None, progress: ProgressCallback | None = None,
              backend: Backend | None = None) -> CurvePoint:
    """Step 3: one learning-curve point: cross-validate, fit on the first ``n`` training molecules, test.

    Parameters
    ----------
    X_train : (n_pool, d) prepared representations of the training pool (`series_features`);
        the first ``n`` are used (training sets are nested)
    y_train : (n_pool,) targets of the pool
    X_test : (n_test, d) prepared test representations
    y_test : (n_test,) test targets
    order, metric : the series
    n : training-set size, <= n_pool
    settings : folds, seed, search ('local': a coarse probe and a local search; 'grid': the whole
        grid), device and the sigma / lambda grids
    D_train : optional (>= n, >= n) distances of the pool (`compute_distances`; top-left block used)
    D_test : optional (n_test, >= n) test-to-pool distances
    start : ignored. It used to start the local search from the previous size's optimum, which
        made a point depend on the other sizes of the run; every point now searches from its own
        training set (`cv.cross_validate`)
    cancel : checked between solves
    progress : ``progress(done, total, message)`` of the cross-validation
    backend : where to compute (default: ``settings.device``'s)

    Returns
    -------
    CurvePoint, with the search's CV table, sigma / median distance and edge flag
    """
    del start  # see above
    if not settings.folds <= n <= X_train.shape[0]:
        raise ValueError(f"training size {n} must be between folds={settings.folds} and the pool "
                         f"of {X_train.shape[0]}")
    backend = backend or get_backend(settings.device)
    t0 = time.perf_counter()
    d_nn = D_train[:n, :n] if D_train is not None else backend.distances(metric, X_train[:n], presorted=True)
    cv = cross_validate(d_nn, y_train[:n], metric, folds=settings.folds,
                        sigma_factors=settings.sigma_factors, lambdas=settings.lambdas,
                        seed=settings.seed, search=settings.search, cancel=cancel, progress=progress, backend=backend)
    model = KernelRidge(metric, cv.sigma, cv.lam, precomputed=True, device=backend.name).fit(d_nn, y_train[:n])
    t1 = time.perf_counter()
    if D_test is None:
        D_test = backend.distances(metric, X_test, X_train[:n], presorted=True)
    pred = model.predict(D_test, columns=np.arange(n))
    t2 = time.perf_counter()
    return CurvePoint.from_predictions(order, metric, n, cv, pred, y_test, t1 - t0, t2 - t1)
