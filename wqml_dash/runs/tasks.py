"""What runs on the Dask workers: the steps of `core.learn.plan`, one task each.

Per run and seed: `test_set`; per shared inputs key: `prepare_inputs`; per chain (series and
seed): `compute_distances`; per point: `fit_task`, which takes those results as futures, so they
travel to a worker once, not per task (and Dask runs a chain's points where its distances are).

Workers import this module (on a remote cluster, wqml-dash must be installed on every worker)
and load the data set once per process (`worker_dataset`): QM9 from the local cache, or the run's
data set file, which a remote worker must see at the same path. Workers never touch the
store: they return results and the client process writes them.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from ..core.learn.plan import SeriesDistances, SeriesInputs, compute_distances, fit_point, split_rows
from ..core.learn.plan import prepare_inputs as prepare_series_inputs
from ..core.learn.results import CurvePoint
from ..core.learn.series import Series
from ..core.progress import Cancelled
from .config import RunConfig

_datasets: dict = {}
_dataset_lock = threading.Lock()


def worker_dataset(cfg: RunConfig | None = None):
    """The run's data set, loaded once per process (the worker's threads share it).

    QM9 from the local cache, or the data set file `RunConfig.data` names, which must still hold
    what was submitted (same content hash).

    Raises
    ------
    DataError
        if the file is gone, unreadable, or has changed since the run was submitted.
    """
    data = None if cfg is None else cfg.data
    key = None if data is None else (data["path"], data["sha256"], cfg.target, data.get("unit"))
    with _dataset_lock:
        if key not in _datasets:
            from ..core.data import DataError, load_dataset, load_qm9

            if data is None:
                _datasets[key] = load_qm9()
            else:
                dataset = load_dataset(data["path"], target=data.get("energy_key") or cfg.target,
                                       unit=data.get("unit") or None, csv=data.get("csv"),
                                       references=data.get("references"))
                if dataset.content_hash != data["sha256"]:
                    raise DataError(f"{dataset.name} has changed since the run was submitted (content hash "
                                    f"{dataset.content_hash[:12]}, the run's {data['sha256'][:12]})")
                _datasets[key] = dataset
        return _datasets[key]


def test_set(config: dict, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One seed's test set: (the data set's molecule numbers (n_test,) int64: QM9 indices or frame
    numbers, reference values (n_test,))."""
    cfg = RunConfig.from_dict(config)
    dataset = worker_dataset(cfg)
    cfg.check_fits(len(dataset))
    _, test_rows = split_rows(len(dataset), max(cfg.sizes), cfg.n_test, seed)
    return np.asarray(dataset.index)[test_rows].astype(np.int64), dataset.target(cfg.target)[test_rows]


def prepare_inputs(config: dict, seed: int, series: str) -> SeriesInputs:
    """Step 1 of the plan: the inputs every chain with ``series``' inputs key shares."""
    cfg = RunConfig.from_dict(config)
    return prepare_series_inputs(worker_dataset(cfg), cfg.settings_for(seed), series, seed)


def distances_task(inputs: SeriesInputs, config: dict, series: str) -> SeriesDistances:
    """Step 2 of the plan: one chain's distances, as NumPy arrays (they may travel between workers)."""
    from ..core.learn.backends import get_backend

    backend = get_backend(RunConfig.from_dict(config).device)
    d = compute_distances(inputs, Series.parse(series).metric, backend)
    return SeriesDistances(train=backend.to_numpy(d.train), test=backend.to_numpy(d.test), seconds=d.seconds)


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
             cancel_event: str | None = None, distances: SeriesDistances | None = None) -> CurvePoint:
    """Step 3 of the plan: the point of ``series`` at training size ``size`` with ``seed``'s settings.

    Every point searches sigma and lambda on its own training set (`core.learn.plan.fit_point`).
    ``distances``: the chain's (None: this point computes its own).

    Returns the `CurvePoint` with its search's ``sigma_factor``, ``at_edge`` and ``cv_table``.
    """
    cancel = DaskCancel(cancel_event) if cancel_event else None
    if cancel is not None:
        cancel.check()
    cfg = RunConfig.from_dict(config)
    s = Series.parse(series, cfg.representation)
    return fit_point(inputs.X_train, inputs.y_train, inputs.X_test, inputs.y_test, s.order, s.metric, int(size),
                     cfg.settings_for(seed), D_train=None if distances is None else distances.train,
                     D_test=None if distances is None else distances.test, cancel=cancel)
