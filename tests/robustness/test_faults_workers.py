"""Faults on the executor's embedded Dask cluster: cancel while a long point runs, a worker
process SIGKILLed in the middle of a run, and a point that kills every worker that tries it.

The measured times are printed (run with ``-s``); the tests assert behaviour, not speed.
"""

from __future__ import annotations

import os
import signal
import time

import psutil
import pytest
from runs.test_executor import assert_matches_reference, until

from wqml_dash.runs.config import RunConfig
from wqml_dash.runs.executor import RunExecutor
from wqml_dash.runs.store import RunStore

from .fault_plugins import DieAtSize

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals")

TINY = dict(n_test=50, folds=2)


@pytest.fixture(scope="module")
def executor(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("faults") / "runs.sqlite")
    ex = RunExecutor(store, n_workers=2)
    ex.start()
    yield ex
    ex.close()


def worker_pids(client) -> dict[str, int]:
    return client.run(os.getpid)


def executing(client, run_id: int) -> dict[str, list[str]]:
    """Worker address -> keys of the run's point tasks executing there."""
    prefix = f"wqml-point-{run_id}-"
    return client.run(lambda dask_worker: [str(ts.key) for ts in dask_worker.state.executing
                                           if str(ts.key).startswith(prefix)])


def cpu_idle(pids, interval: float = 0.25, busy: float = 0.2) -> bool:
    """Whether every process used less than ``busy`` of a core over ``interval`` seconds."""
    procs = [psutil.Process(p) for p in pids]
    before = [sum(p.cpu_times()[:2]) for p in procs]
    time.sleep(interval)
    return all(sum(p.cpu_times()[:2]) - b < busy * interval for p, b in zip(procs, before, strict=True))


@pytest.mark.parametrize("phase, delay", [("distances", 0.2), ("cross-validation", 6.0)])
def test_cancel_stops_the_running_point_and_frees_the_workers(executor, phase, delay):
    """Cancel while two long points run: one in its first step (the distance matrix, one numba call
    of ~1-2 s at n = 5000 with no check inside), one later in the cross-validation (checks between
    factorisations)."""
    client = executor.client
    store = executor.store
    pids = worker_pids(client)
    cfg = RunConfig(series=["sorted:l1", "random:l1"], sizes=[5000], **TINY)  # two long points, one per worker
    run_id = executor.submit(cfg)
    until(lambda: sum(map(len, executing(client, run_id).values())) == 2, timeout=300, step=0.05)
    time.sleep(delay)
    t0 = time.monotonic()
    executor.cancel(run_id)
    t_status = time.monotonic() - t0
    assert store.get_run(run_id)["status"] == "cancelled"
    # a user launches the next run straight away; the cancelled run's tasks must make way for it
    nxt = executor.submit(RunConfig(series=["sorted:l1"], sizes=[20, 40], **TINY))
    prefix = f"wqml-point-{run_id}-"
    seen: dict[str, float] = {}
    until(lambda: _record(seen, t0, {
        "scheduler": not any(str(k).startswith(prefix) for keys in client.processing().values() for k in keys),
        "workers": not any(executing(client, run_id).values()),
        "next run": store.get_run(nxt)["status"] == "finished"}), timeout=300, step=0.02)
    until(lambda: cpu_idle(pids.values()), timeout=120, step=0.0)
    t_idle = time.monotonic() - t0
    assert executor.wait(run_id, timeout=60) == "cancelled"
    assert store.get_run(run_id)["n_done"] == 0
    assert store.get_run(nxt)["n_done"] == 2
    assert worker_pids(client) == pids  # cancelling killed no worker
    print(f"\ncancel during {phase} -> status cancelled {t_status:.3f} s, no task of the run processing on the "
          f"scheduler {seen['scheduler']:.3f} s, none executing on a worker {seen['workers']:.3f} s; a tiny run "
          f"launched right after the cancel finished at {seen['next run']:.3f} s; worker CPU idle {t_idle:.3f} s")


def _record(seen: dict[str, float], t0: float, conditions: dict[str, bool]) -> bool:
    """Note when each condition first held; True once all have."""
    for name, holds in conditions.items():
        if holds and name not in seen:
            seen[name] = time.monotonic() - t0
    return len(seen) == len(conditions)


def test_a_worker_killed_mid_run_is_replaced_and_the_run_completes(executor, qm9):
    client = executor.client
    store = executor.store
    before = worker_pids(client)
    cfg = RunConfig(series=["sorted:l1", "sorted:w1"], sizes=[20, 40, 3000], seeds=[1], **TINY)
    run_id = executor.submit(cfg)
    until(lambda: any(executing(client, run_id).values()) and store.get_run(run_id)["n_done"] >= 4,
          timeout=300, step=0.05)
    victim = next(addr for addr, keys in executing(client, run_id).items() if keys)
    os.kill(before[victim], signal.SIGKILL)  # the worker process, not its nanny (which lives in this process)
    t0 = time.monotonic()
    until(lambda: len(client.scheduler_info()["workers"]) == 2 and victim not in client.scheduler_info()["workers"],
          timeout=120, step=0.05)
    t_back = time.monotonic() - t0
    assert executor.wait(run_id, timeout=300) == "finished"
    t_done = time.monotonic() - t0
    run = store.get_run(run_id)
    assert run["error"] is None and run["n_done"] == 6
    after = worker_pids(client)
    assert before[victim] not in after.values() and len(after) == 2
    assert_matches_reference(store, run_id, qm9, cfg)  # the retried point equals the uninterrupted one
    print(f"\nworker {before[victim]} SIGKILLed: a new worker joined after {t_back:.2f} s, "
          f"the run finished {t_done:.2f} s after the kill with every point")


def test_a_point_that_kills_every_worker_fails_its_run_only(executor):
    client = executor.client
    store = executor.store
    client.register_plugin(DieAtSize(77))
    try:
        t0 = time.monotonic()
        bad = executor.submit(RunConfig(series=["sorted:l1"], sizes=[20, 77], name="kills workers", **TINY))
        until(lambda: store.get_run(bad)["n_done"] == 1, timeout=120)
        good = executor.submit(RunConfig(series=["sorted:w1"], sizes=[20, 40], name="fine", **TINY))
        assert executor.wait(bad, timeout=300) == "failed"
        t_failed = time.monotonic() - t0
        assert executor.wait(good, timeout=300) == "finished"
    finally:
        client.unregister_worker_plugin(DieAtSize.name)
    run = store.get_run(bad)
    assert run["n_done"] == 1
    error = run["error"]
    assert error.startswith("sorted:l1 n=77 seed 0: KilledWorker: the Dask worker process computing this point "
                            "died 4 times (the last one was tcp://127.0.0.1:")
    assert "lack of memory" in error
    assert str(client.scheduler_info()["workers"])  # the cluster is still there
    until(lambda: len(client.scheduler_info()["workers"]) == 2, timeout=120)
    # the app and CLI go on: another run on the same executor finishes, the failed one resumes up to n=77
    assert executor.store.missing_tasks(bad) == [("sorted:l1", 77, 0)]
    print(f"\nrepeated worker deaths on one point: run failed {t_failed:.2f} s after submission with: {error}")


def test_tasks_dropped_by_the_cluster_leave_the_run_interrupted(executor):
    """What a closing cluster does (the server got SIGTERM, distributed's exit handler ran first):
    it cancels the run's futures without the executor asking. The run must not end "finished"."""
    store = executor.store
    run_id = executor.submit(RunConfig(series=["sorted:l1"], sizes=[20, 40, 3000], **TINY))
    until(lambda: store.get_run(run_id)["n_done"] >= 2, timeout=300, step=0.02)
    with executor._lock:
        futures = list(executor._runs[run_id].futures)
    executor.client.cancel(futures)
    assert executor.wait(run_id, timeout=120) == "interrupted"
    assert store.get_run(run_id)["error"] is None
    assert store.missing_tasks(run_id) == [("sorted:l1", 3000, 0)]
    until(lambda: not any(executing(executor.client, run_id).values()), timeout=120)


def test_a_point_stopped_behind_the_executors_back_fails_the_run(executor):
    """A task that stops without its run being cancelled (here: the run's cancel Event set from
    outside) leaves a point missing: the run ends "failed", saying which, never "finished"."""
    from distributed import Event

    store = executor.store
    run_id = executor.submit(RunConfig(series=["sorted:l1"], sizes=[20, 40, 3000], **TINY))
    until(lambda: store.get_run(run_id)["n_done"] >= 2, timeout=300, step=0.02)
    with executor._lock:
        event = executor._runs[run_id].cancel_event
    Event(event, client=executor.client).set()
    assert executor.wait(run_id, timeout=120) == "failed"
    assert store.get_run(run_id)["error"] == ("1 of the run's points were not computed (the first: sorted:l1 n=3000 "
                                              "seed 0); Resume computes them")
