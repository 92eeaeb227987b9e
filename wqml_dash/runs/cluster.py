"""The Dask cluster of the executor: an embedded `LocalCluster` started on first use, or an existing
scheduler; and how a task's failure on it is told to people."""

from __future__ import annotations

import logging
import os

#: Thread counts of the numerical libraries, set to 1 for the embedded cluster's workers.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
#: Variables Dask's nannies write into the launching process's environment.
_NANNY_VARIABLES = (*_THREAD_VARIABLES, "MALLOC_TRIM_THRESHOLD_", "PYTHONHASHSEED")
#: Seconds to wait for an existing scheduler to answer.
CONNECT_TIMEOUT = 30.0
#: How long the embedded cluster waits for a dead worker's replacement before giving it up.
LOST_WORKER_TIMEOUT = "120s"


def _restore_environ(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def default_workers() -> int:
    """Worker processes of the embedded cluster: one per core, at most 8 and one per 4 GB of memory
    (a point at 10,000 training molecules needs about 3 GB)."""
    import psutil

    memory_gb = psutil.virtual_memory().total / 2**30
    return max(1, min(os.cpu_count() or 1, int(memory_gb // 4), 8))


def connect(scheduler: str | None, n_workers: int, threads_per_worker: int):
    """A `distributed.Client` of ``scheduler``, or of a new embedded `LocalCluster` on 127.0.0.1.

    Returns
    -------
    (client, cluster): cluster is None for an existing scheduler
    """
    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, set_as_default=False, timeout=CONNECT_TIMEOUT), None
    import dask

    # One BLAS/numba thread per worker process (Dask's default for BLAS): measured on 2
    # busy cores, 2 threads per worker made the same tasks 10x slower (threads spinning
    # for cores they do not get). Parallelism comes from worker processes instead.
    env = {f"distributed.nanny.pre-spawn-environ.{name}": "1" for name in _THREAD_VARIABLES}
    # A worker whose process dies is restarted by its nanny; on a busy machine that can
    # take longer than the 15 s after which LocalCluster gives the worker up for good.
    dask.config.set({"distributed.deploy.lost-worker-timeout": LOST_WORKER_TIMEOUT})
    saved = {name: os.environ.get(name) for name in _NANNY_VARIABLES}
    # Logs of the embedded cluster stay quiet below CRITICAL: a task's error reaches the user through the
    # run's status (describe_task_error), and a worker fetching a result from one that is shutting down
    # (Ctrl-C, a closed app) logs a traceback that is not the user's to read.
    try:
        with dask.config.set(env):
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
                                   host="127.0.0.1", dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL,
                                   preload=["wqml_dash.runs.worker_setup"])
    finally:
        _restore_environ(saved)  # the nannies set them in this process too before spawning
    return Client(cluster, set_as_default=False), cluster


def heal(cluster) -> None:
    """Bring an embedded cluster (None: nothing to do) back to its size: a worker given up after
    repeated deaths (LocalCluster drops one that stays away past the lost-worker timeout) is started anew."""
    if cluster is None:
        return
    try:
        if len(cluster.workers) < len(cluster.worker_spec):
            cluster.scale(len(cluster.worker_spec))
    except Exception:  # a cluster being closed: the run will report what goes wrong
        pass


def describe_task_error(exc: BaseException) -> str:
    """One line for people about why a point's task failed.

    A task that was running each time its worker process died (killed by the system, typically
    for lack of memory, or crashed) ends as Dask's ``KilledWorker`` after
    ``distributed.scheduler.allowed-failures`` retries: say so in plain words.
    """
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        attempts = getattr(exc, "allowed_failures", None)
        times = f"{attempts + 1} times" if isinstance(attempts, int) else "repeatedly"
        where = getattr(getattr(exc, "last_worker", None), "address", None)
        return (f"KilledWorker: the Dask worker process computing this point died {times}"
                + (f" (the last one was {where})" if where else "")
                + "; a worker is killed by the system, most often for lack of memory: try a smaller training "
                "size or more memory per worker. The run's other points are kept.")
    return f"{type(exc).__name__}: {exc}"
