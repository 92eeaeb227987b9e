"""What runs on the Dask workers: shared inputs per (seed, series kind) and one point per task.

Workers import this module (on a remote cluster, wqml-dash must be installed on every worker)
and load QM9 once per process from the local cache (`worker_dataset`). Workers never touch the
store: they return results and the client process writes them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np

from ..core.learn.learning_curve import CurvePoint, fit_point, parse_series, series_features, split_rows
from ..core.progress import Cancelled
from .config import RunConfig

_dataset = None
_dataset_lock = threading.Lock()


def worker_dataset():
    """QM9, loaded once per process (the worker's threads share it)."""
    global _dataset
    with _dataset_lock:
        if _dataset is None:
            from ..core.data import load_qm9

            _dataset = load_qm9()
        return _dataset


@dataclass
class SeriesInputs:
    """Prepared representations of one seed's training pool and test set for one kind of series.

    Attributes
    ----------
    X_train : (n_pool, d) `series_features` of the pool (the largest training size)
    y_train : (n_pool,) targets of the pool
    X_test : (n_test, d) prepared test representations
    y_test : (n_test,) test targets
    seconds : time spent preparing them
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    seconds: float


def inputs_key(config: RunConfig, series: str, seed: int) -> tuple:
    """Series that share their prepared inputs get the same key: L1 and L2 compare the same
    vectors, W1 the sorted ones; Bag of Bonds does not depend on the order."""
    order, metric = parse_series(series)
    kind = "sorted-entries" if metric == "w1" else "vector"
    if config.representation == "bob" or metric == "w1":
        order = "any"  # W1 entries sorted: the atom order cannot matter
    return (int(seed), config.representation, order, kind)


def _split(config: RunConfig, seed: int, n_molecules: int) -> tuple[np.ndarray, np.ndarray]:
    config.check_fits(n_molecules)
    return split_rows(n_molecules, max(config.sizes), config.n_test, seed)


def test_set(config: dict, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One seed's test set: (QM9 indices (n_test,) int64, reference values (n_test,))."""
    cfg = RunConfig.from_dict(config)
    dataset = worker_dataset()
    _, test_rows = _split(cfg, seed, len(dataset))
    return np.asarray(dataset.index)[test_rows].astype(np.int64), dataset.target(cfg.target)[test_rows]


def prepare_inputs(config: dict, seed: int, series: str) -> SeriesInputs:
    """The shared inputs of every task of ``series`` (and of series with the same `inputs_key`)."""
    t0 = time.perf_counter()
    cfg = RunConfig.from_dict(config)
    order, metric = parse_series(series)
    dataset = worker_dataset()
    train_rows, test_rows = _split(cfg, seed, len(dataset))
    X = series_features(dataset, np.concatenate([train_rows, test_rows]), order, metric, seed,
                        cfg.representation)
    y = dataset.target(cfg.target)
    n_pool = train_rows.size
    return SeriesInputs(X_train=X[:n_pool], y_train=y[train_rows], X_test=X[n_pool:], y_test=y[test_rows],
                        seconds=time.perf_counter() - t0)


class DaskCancel:
    """A `CancelToken`-compatible check of a distributed `Event`, set by the client to stop a run.

    Asks the scheduler at most every ``interval`` seconds, so cheap solves stay cheap.
    """

    def __init__(self, name: str, interval: float = 0.25) -> None:
        self.name = name
        self.interval = interval
        self._event = None
        self._last = -np.inf
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        now = time.monotonic()
        if not self._cancelled and now - self._last >= self.interval:
            self._last = now
            if self._event is None:
                from distributed import Event

                self._event = Event(self.name)
            self._cancelled = bool(self._event.is_set())
        return self._cancelled

    def check(self) -> None:
        if self.cancelled:
            raise Cancelled("cancelled")


def fit_task(inputs: SeriesInputs, config: dict, series: str, size: int, seed: int,
             cancel_event: str | None = None,
             start: CurvePoint | tuple[float, float] | None = None) -> CurvePoint:
    """One point: `fit_point` for ``series`` at training size ``size`` with ``seed``'s settings.

    ``start``: the point (or its ``(sigma, lambda)``) of the next smaller size of the same series
    and seed, where the local hyperparameter search starts (None: the whole grid).
    """
    cancel = DaskCancel(cancel_event) if cancel_event else None
    if cancel is not None:
        cancel.check()
    cfg = RunConfig.from_dict(config)
    order, metric = parse_series(series)
    if isinstance(start, CurvePoint):
        start = (start.sigma, start.lam)
    return fit_point(inputs.X_train, inputs.y_train, inputs.X_test, inputs.y_test, order, metric, int(size),
                     cfg.settings_for(seed), start=start, cancel=cancel)
