"""Runs learning curves as Dask tasks and records every point in a `RunStore` as it finishes.

By default the executor starts an embedded `distributed.LocalCluster` on 127.0.0.1 the first
time it needs one (nothing for the user to start); with ``scheduler="tcp://HOST:PORT"`` or
``$WQML_SCHEDULER`` it sends the same tasks to an existing cluster, whose workers need
wqml-dash installed and QM9 cached (`wqml data`), but never see the store.

Each run gets a driver thread in this process. It submits the run's plan (`core.learn.plan`):
per seed, one task that draws the test set; per kind of series, one task that prepares the shared
inputs (representations of the training pool and the test set); per (series, seed), one task that
computes the distances of the largest training set; then one task per (series, size, seed) point
that takes those as futures, so they travel to a worker once, not per task. Points are written to
the store as they arrive. Cancelling a run cancels its pending tasks and sets a distributed
`Event` that running tasks poll between solves.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from dataclasses import dataclass, field

import pandas as pd

from ..core.learn.plan import plan_chains
from ..core.progress import Cancelled
from .cluster import connect, default_workers, describe_task_error, heal
from .progress import RunProgress, task_weight
from . import tasks as worker_tasks
from .config import RunConfig
from .store import ACTIVE_STATUSES, RunStore, owner_alive

log = logging.getLogger(__name__)

#: Environment variable with the address of an existing Dask scheduler.
SCHEDULER_ENV = "WQML_SCHEDULER"
class ClusterLost(RuntimeError):
    """The cluster cancelled or lost a run's task without the executor asking (it is shutting
    down, e.g. the server got SIGTERM): the run is interrupted, not finished."""


@dataclass
class _ActiveRun:
    run_id: int
    config: RunConfig
    tasks: list[tuple[str, int, int]]
    cancel_event: str = field(default_factory=lambda: f"wqml-cancel-{uuid.uuid4().hex}")
    stop: threading.Event = field(default_factory=threading.Event)
    interrupt: bool = False
    futures: list = field(default_factory=list)
    thread: threading.Thread | None = None
    started: float = field(default_factory=time.monotonic)
    units_total: float = 0.0
    units_done: float = 0.0
    message: str = "queued"
    ended: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class RunExecutor:
    """Submit, watch, cancel and resume runs on Dask; every finished point goes to ``store``.

    Parameters
    ----------
    store : where runs and points are recorded
    scheduler : address of a running Dask scheduler (``tcp://host:port``); None: ``$WQML_SCHEDULER``,
        else an embedded `LocalCluster` started on first use
    n_workers, threads_per_worker : size of the embedded cluster (default `default_workers` worker
        processes with 1 thread each, BLAS and numba single-threaded in them: the points of a run
        are computed side by side)
    n_molecules : size of QM9 here, to reject impossible sizes in `submit` (default: QM9's); a run on
        a data set file is checked against the size its `RunConfig.data` records

    Notes
    -----
    Thread-safe: every method may be called from any thread (the app calls them from its event
    loop and periodic callbacks); none blocks on Dask except `wait`, `start` and `close`.
    On creation, queued/running runs of processes that have died are marked interrupted.
    """

    def __init__(self, store: RunStore, scheduler: str | None = None, *, n_workers: int | None = None,
                 threads_per_worker: int = 1, n_molecules: int | None = None) -> None:
        self.store = store
        self.scheduler = scheduler or os.environ.get(SCHEDULER_ENV) or None
        self.n_workers = default_workers() if n_workers is None else int(n_workers)
        self.threads_per_worker = int(threads_per_worker)
        self.n_molecules = n_molecules
        self._client = None
        self._cluster = None
        self._client_lock = threading.Lock()
        self._lock = threading.RLock()
        self._runs: dict[int, _ActiveRun] = {}
        self._listeners: list[Callable[[int], None]] = []
        self._closed = False
        self.interrupted = store.mark_interrupted()

    def __repr__(self) -> str:
        where = self.scheduler or "embedded LocalCluster"
        return f"RunExecutor({self.store!r}, {where}, active={self.active_runs()})"

    def __enter__(self) -> RunExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- the cluster ---------------------------------------------------------------------
    @property
    def client(self):
        """The `distributed.Client`, started (with the embedded cluster) on first use."""
        with self._client_lock:
            if self._closed:
                raise RuntimeError("this executor is closed")
            if self._client is None:
                self._client, self._cluster = connect(self.scheduler, self.n_workers, self.threads_per_worker)
            return self._client

    def start(self) -> None:
        """Start (or connect to) the cluster now instead of on the first submit."""
        self.client  # noqa: B018 (the property starts it)

    @property
    def started(self) -> bool:
        return self._client is not None

    @property
    def dashboard_link(self) -> str | None:
        """URL of the Dask dashboard, None before the cluster is started."""
        client = self._client
        if client is None:
            return None
        try:
            return client.dashboard_link
        except Exception:  # a scheduler without the dashboard
            return None

    # --- listeners -----------------------------------------------------------------------
    def subscribe(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(run_id)`` (from a driver thread) after each stored point or status change."""
        with self._lock:
            self._listeners.append(callback)

    def unsubscribe(self, callback: Callable[[int], None]) -> None:
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def _notify(self, run_id: int) -> None:
        for callback in list(self._listeners):
            try:
                callback(run_id)
            except Exception:
                log.exception("run listener failed")

    # --- runs ----------------------------------------------------------------------------
    def submit(self, config: RunConfig | dict) -> int:
        """Record a run as queued and start it; returns its id at once.

        Raises
        ------
        ValueError
            if the settings are invalid or do not fit in the data set.
        """
        cfg = config if isinstance(config, RunConfig) else RunConfig.from_dict(config)
        self._check_fits(cfg)
        run_id = self.store.create_run(cfg)
        self._start(run_id, cfg, cfg.tasks())
        return run_id

    def _check_fits(self, cfg: RunConfig) -> None:
        cfg.check_fits(self.n_molecules if self.n_molecules is not None and cfg.data is None else cfg.n_molecules)

    def resume(self, run_id: int) -> None:
        """Compute the points of a run that are missing (interrupted, cancelled or failed runs).

        A run cancelled a moment ago is resumed once its tasks have stopped (this waits for that).

        Raises
        ------
        KeyError
            if there is no such run.
        ValueError
            if the run is active, here or in another live process.
        """
        with self._lock:
            previous = self._runs.get(run_id)
        if previous is not None and previous.stop.is_set() and previous.thread is not None:
            previous.thread.join(timeout=30)  # cancelled a moment ago: let its driver finish first
        run = self.store.get_run(run_id)
        with self._lock:
            if run_id in self._runs:
                raise ValueError(f"run {run_id} is already running")
            if run["status"] in ACTIVE_STATUSES and owner_alive(run["owner"]) is not False:
                raise ValueError(f"run {run_id} is {run['status']} in another process ({run['owner']})")
            missing = self.store.missing_tasks(run_id)
            if not missing:
                self.store.set_status(run_id, "finished")
                self._notify(run_id)
                return
            cfg = RunConfig.from_dict(run["config"])
            self.store.set_status(run_id, "queued")
            self._start(run_id, cfg, missing)

    def cancel(self, run_id: int) -> None:
        """Stop a run: its pending tasks are cancelled, running ones stop at their next check.

        The status becomes ``cancelled`` at once; points that finished stay. A run that is not
        active in this executor is left as it is.
        """
        with self._lock:
            run = self._runs.get(run_id)
        if run is None or not self._stop(run, interrupt=False):
            return
        try:
            self.store.set_status(run_id, "cancelled")
        except KeyError:
            pass
        self._notify(run_id)

    def delete(self, run_id: int) -> None:
        """Cancel the run if it is active here, then delete it from the store (KeyError if missing)."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is not None:
            self._stop(run, interrupt=False)
            if run.thread is not None and run.thread is not threading.current_thread():
                run.thread.join(timeout=10)
        self.store.delete_run(run_id)
        self._notify(run_id)

    def wait(self, run_id: int, timeout: float | None = None) -> str:
        """Block until the run is no longer active here; returns its status."""
        with self._lock:
            run = self._runs.get(run_id)
        if run is not None and run.thread is not None:
            run.thread.join(timeout)
        return self.store.get_run(run_id)["status"]

    def active_runs(self) -> list[int]:
        """Ids of the runs this executor is working on."""
        with self._lock:
            return sorted(self._runs)

    def progress(self, run_id: int) -> RunProgress:
        """Status, counts, estimated time left and a message (KeyError if there is no such run)."""
        row = self.store.get_run(run_id)
        with self._lock:
            run = self._runs.get(run_id)
        eta = None
        if run is None:
            message = row["status"] + (f": {row['error']}" if row["error"] else "")
            if row["status"] == "running":  # in another process: estimate from the stored points
                message = "running in another process"
                eta = self._stored_eta(row)
        else:
            with run.lock:
                message = run.message
                if run.units_done > 0:
                    elapsed = time.monotonic() - run.started
                    eta = elapsed * max(run.units_total - run.units_done, 0.0) / run.units_done
        return RunProgress(run_id=run_id, status=row["status"], done=int(row["n_done"]),
                           total=int(row["n_total"]), eta_seconds=eta, message=message)

    def _stored_eta(self, row: dict) -> float | None:
        points = self.store.points(row["id"])
        if points.empty or row["started"] is None:
            return None
        done = {(r.series, r.size, r.seed) for r in points.itertuples(index=False)}
        tasks = RunConfig.from_dict(row["config"]).tasks()
        units_done = sum(task_weight(n) for s, n, seed in tasks if (s, n, seed) in done)
        units_left = sum(task_weight(n) for s, n, seed in tasks if (s, n, seed) not in done)
        elapsed = (pd.Timestamp.now(tz="UTC") - row["started"]).total_seconds()
        return max(elapsed, 0.0) * units_left / units_done if units_done else None

    def close(self) -> None:
        """Stop active runs (they become ``interrupted``, resumable) and shut the cluster down."""
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            if not self._stop(run, interrupt=True):
                continue
            try:
                self.store.set_status(run.run_id, "interrupted")
            except KeyError:
                pass
        for run in runs:
            if run.thread is not None and run.thread is not threading.current_thread():
                run.thread.join(timeout=10)
        with self._client_lock:
            self._closed = True
            client, cluster = self._client, self._cluster
            self._client = self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()

    # --- the driver ----------------------------------------------------------------------
    def _start(self, run_id: int, cfg: RunConfig, tasks: list[tuple[str, int, int]]) -> None:
        heal(self._cluster)
        run = _ActiveRun(run_id=run_id, config=cfg, tasks=list(tasks))
        run.units_total = sum(task_weight(n) for _, n, _ in run.tasks)
        run.thread = threading.Thread(target=self._drive, args=(run,), name=f"wqml-run-{run_id}", daemon=True)
        with self._lock:
            if self._closed:
                raise RuntimeError("this executor is closed")
            self._runs[run_id] = run
        run.thread.start()

    def _stop(self, run: _ActiveRun, interrupt: bool) -> bool:
        """Stop a run's tasks; False if it had already ended or been stopped."""
        with run.lock:
            if run.stop.is_set() or run.ended:
                return False
            run.interrupt = interrupt
            run.stop.set()
            futures = list(run.futures)
        client = self._client
        if client is None or not futures:
            return True
        try:
            from distributed import Event

            Event(run.cancel_event, client=client).set()
            client.cancel(futures)
        except Exception:  # the cluster may be gone already
            log.warning("could not cancel the tasks of run %s", run.run_id, exc_info=True)
        return True

    def _set_message(self, run: _ActiveRun, message: str) -> None:
        with run.lock:
            run.message = message

    def _drive(self, run: _ActiveRun) -> None:
        run_id = run.run_id
        error = None
        try:
            if not self.started:
                self._set_message(run, "starting the Dask cluster")
            client = self.client
            if run.stop.is_set():
                return
            self.store.set_status(run_id, "running")
            self._notify(run_id)
            self._set_message(run, "preparing representations")
            error = self._submit_and_collect(client, run)
        except KeyError:
            error = None  # the run was deleted while it ran
            run.stop.set()
        except (ClusterLost, CancelledError) as exc:
            error = None
            with run.lock:  # interrupted, resumable: the cluster went away under the run
                if not run.stop.is_set():
                    log.warning("run %s interrupted: %s", run_id, exc or type(exc).__name__)
                    run.interrupt = True
                    run.stop.set()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("run %s failed:\n%s", run_id, traceback.format_exc())
        finally:
            self._finish(run, error)

    def _submit_and_collect(self, client, run: _ActiveRun) -> str | None:
        from distributed import as_completed

        run_id, cfg = run.run_id, run.config
        config = cfg.to_dict()
        token = uuid.uuid4().hex[:8]
        seeds = list(dict.fromkeys(seed for _, _, seed in run.tasks))
        test_futures = {seed: client.submit(worker_tasks.test_set, config, seed, priority=100,
                                            key=f"wqml-testset-{run_id}-{seed}-{token}") for seed in seeds}
        # The plan's chains (core.learn.plan): shared inputs, one distance matrix per chain, its points by size,
        # each starting its local search from the previous point's future (or, resuming, the stored optimum).
        run_order = {task: i for i, task in enumerate(run.tasks)}
        inputs: dict[tuple, object] = {}
        distances: dict[object, int] = {}  # distance future -> points of its chain not yet back
        points: dict[object, tuple[str, int, int]] = {}
        chain_of: dict[object, object] = {}  # point future -> its chain's distance future
        for c, chain in enumerate(plan_chains(run.tasks, cfg.representation, cfg.search)):
            series = chain.series.key
            if chain.inputs_key not in inputs:
                inputs[chain.inputs_key] = client.submit(
                    worker_tasks.prepare_inputs, config, chain.seed, series, priority=100,
                    key=f"wqml-inputs-{run_id}-{len(inputs)}-{token}")
            dist = client.submit(worker_tasks.distances_task, inputs[chain.inputs_key], config, series, priority=90,
                                 key=f"wqml-distances-{run_id}-{c}-{token}")
            distances[dist] = len(chain.points)
            for task in chain.points:
                i = run_order[task.key]
                fut = client.submit(worker_tasks.fit_task, inputs[chain.inputs_key], config, series, task.size,
                                    chain.seed, run.cancel_event, dist, priority=-i,
                                    key=f"wqml-point-{run_id}-{i}-{token}")
                points[fut] = task.key
                chain_of[fut] = dist
        with run.lock:
            run.futures = [*test_futures.values(), *inputs.values(), *distances, *points]
            stopped = run.stop.is_set()
        if stopped:  # cancelled while we were submitting
            client.cancel(run.futures)
            return None
        test_done: set[int] = set()
        try:
            for fut in as_completed(list(points), loop=client.loop):
                if run.stop.is_set():
                    break
                series, size, seed = points.pop(fut)
                if fut.status == "cancelled":
                    if run.stop.is_set():
                        continue
                    raise ClusterLost(f"the Dask cluster dropped the task of {series} n={size} seed {seed}")
                if fut.status == "error":
                    exc = fut.exception()
                    if isinstance(exc, Cancelled) or run.stop.is_set():
                        continue
                    return f"{series} n={size} seed {seed}: {describe_task_error(exc)}"
                point = fut.result()
                self._release_distances(run, distances, chain_of.pop(fut))
                if seed not in test_done:
                    rows, y_true = test_futures[seed].result()
                    self.store.set_test_set(run_id, seed, y_true, rows)
                    test_done.add(seed)
                self.store.add_point(run_id, series, size, seed, point)
                with run.lock:
                    run.units_done += task_weight(size)
                    run.message = f"{series} n={size} seed {seed}: MAE {point.mae:.3g}"
                self._notify(run_id)
            return None
        finally:
            with run.lock:
                leftover = [f for f in run.futures if not f.done()]
                run.futures = []
            if leftover:
                client.cancel(leftover)

    @staticmethod
    def _release_distances(run: _ActiveRun, distances: dict, dist) -> None:
        """Forget a chain's distance matrix once its last point is back, so the worker frees it."""
        distances[dist] -= 1
        if distances[dist] == 0:
            with run.lock:
                run.futures = [f for f in run.futures if f is not dist]
            del distances[dist]

    def _finish(self, run: _ActiveRun, error: str | None) -> None:
        run_id = run.run_id
        with run.lock:
            run.ended = True  # from here on cancel() and close() leave the run alone
            stopped = run.stop.is_set()
        try:
            # The final status is written before the run leaves `active_runs`, so whoever sees it
            # gone reads the final status.
            if stopped:
                # cancel() / close() recorded it already; again in case the driver's "running" came later
                self.store.set_status(run_id, "interrupted" if run.interrupt else "cancelled")
            elif error is not None:
                self.store.set_status(run_id, "failed", error)
                self._set_message(run, f"failed: {error}")
            elif missing := self.store.missing_tasks(run_id):  # never "finished" with points missing
                series, size, seed = missing[0]
                error = (f"{len(missing)} of the run's points were not computed (the first: {series} n={size} "
                         f"seed {seed}); Resume computes them")
                self.store.set_status(run_id, "failed", error)
                self._set_message(run, f"failed: {error}")
            else:
                self.store.set_status(run_id, "finished")
        except KeyError:
            pass  # deleted
        if (error is not None or run.stop.is_set()) and self._client is not None:
            try:
                from distributed import Event

                Event(run.cancel_event, client=self._client).set()  # stops stragglers of a failed run
            except Exception:
                pass
        with self._lock:
            self._runs.pop(run_id, None)
        self._notify(run_id)
