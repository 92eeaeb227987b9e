"""RunExecutor on its embedded LocalCluster (one cluster for the whole module)."""

from __future__ import annotations

import os
import socket
import sqlite3
import time

import numpy as np
import pytest

from wqml_dash.core.learn.learning_curve import run_learning_curve
from wqml_dash.core.learn.settings import PAPER_SERIES
from wqml_dash.core.progress import Cancelled
from wqml_dash.runs import tasks as worker_tasks
from wqml_dash.runs.config import RunConfig
from wqml_dash.runs.executor import RunExecutor
from wqml_dash.runs.store import RunStore

SMALL = dict(sizes=[40, 80], n_test=100, folds=3, sigma_factors=[1.0, 4.0, 16.0], lambdas=[1e-8, 1e-4])

_INJECT = """
import wqml_dash.runs.tasks as t
if not hasattr(t, "_real_fit_point"):
    t._real_fit_point = t.fit_point
def _failing(*args, **kwargs):
    if args[6] == 77:
        raise ValueError("injected failure at n=77")
    return t._real_fit_point(*args, **kwargs)
t.fit_point = _failing
"""
_RESTORE = """
import wqml_dash.runs.tasks as t
t.fit_point = getattr(t, "_real_fit_point", t.fit_point)
"""


_ENVIRON_BEFORE: dict[str, str] = {}


@pytest.fixture(scope="module")
def executor(tmp_path_factory):
    store = RunStore(tmp_path_factory.mktemp("runs") / "runs.sqlite")
    ex = RunExecutor(store)
    _ENVIRON_BEFORE.update(os.environ)
    ex.start()
    yield ex
    ex.close()


def test_worker_threads_and_our_environment(executor):
    expected = "1"
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
    for env in executor.client.run(lambda: {n: os.environ.get(n) for n in names}).values():
        for name in names:  # a value the user set wins, as with any Dask cluster
            assert env[name] == _ENVIRON_BEFORE.get(name, expected)
    for name in (*names, "MALLOC_TRIM_THRESHOLD_", "PYTHONHASHSEED"):  # ours is left as it was
        assert os.environ.get(name) == _ENVIRON_BEFORE.get(name)


def until(condition, timeout=120.0, step=0.1):
    """Poll ``condition()`` until true (the timeout only guards against a hang)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(step)


def assert_matches_reference(store, run_id, qm9, cfg):
    df = store.points(run_id)
    assert len(df) == len(cfg.tasks())
    for seed in cfg.seeds:
        ref = run_learning_curve(qm9, cfg.settings_for(seed))
        for p in ref.points:
            row = df[(df.series == f"{p.order}:{p.metric}") & (df["size"] == p.n_train) & (df.seed == seed)].iloc[0]
            assert row["mae"] == pytest.approx(p.mae, rel=1e-9)
            assert row["sigma"] == pytest.approx(p.sigma, rel=1e-12) and row["lam"] == p.lam
            y_true, y_pred = store.predictions(run_id, f"{p.order}:{p.metric}", p.n_train, seed)
            np.testing.assert_allclose(y_pred, p.predictions, rtol=1e-9)
            np.testing.assert_array_equal(y_true, ref.y_test)
        _, rows = store.test_set(run_id, seed)
        np.testing.assert_array_equal(rows, np.asarray(qm9.index)[ref.test_rows])


def test_embedded_run_gives_the_same_points_as_run_learning_curve(executor, qm9):
    cfg = RunConfig(series=["sorted:l1", "random:l2", "sorted:w1", "random:w1"], seeds=[2, 5], **SMALL)
    updates = []
    executor.subscribe(updates.append)
    try:
        run_id = executor.submit(cfg)
        assert executor.store.get_run(run_id)["status"] in ("queued", "running")
        assert executor.wait(run_id, timeout=300) == "finished"
    finally:
        executor.unsubscribe(updates.append)
    assert executor.active_runs() == []
    progress = executor.progress(run_id)
    assert (progress.status, progress.done, progress.total) == ("finished", 16, 16)
    assert updates.count(run_id) >= 16
    run = executor.store.get_run(run_id)
    assert run["started"] <= run["finished"] and run["error"] is None
    assert_matches_reference(executor.store, run_id, qm9, cfg)
    assert executor.dashboard_link.startswith("http://127.0.0.1:")


def test_bag_of_bonds_run(executor, qm9):
    cfg = RunConfig(series=["sorted:w1"], sizes=[40], n_test=100, folds=3, sigma_factors=[1.0, 4.0],
                    lambdas=[1e-8], representation="bob")
    run_id = executor.submit(cfg)
    assert executor.wait(run_id, timeout=300) == "finished"
    assert_matches_reference(executor.store, run_id, qm9, cfg)


def test_submit_rejects_what_cannot_fit(executor):
    n_runs = len(executor.store.list_runs())
    with pytest.raises(ValueError, match="exceeds"):
        executor.submit(RunConfig(sizes=[130_000], n_test=2000))
    assert len(executor.store.list_runs()) == n_runs


def test_cancel_stops_promptly(executor):
    cfg = RunConfig(series=list(PAPER_SERIES), sizes=[300, 1500, 2500], n_test=500, folds=5)
    store = executor.store
    run_id = executor.submit(cfg)
    until(lambda: store.get_run(run_id)["n_done"] >= 1)
    assert executor.progress(run_id).eta_seconds is not None
    executor.cancel(run_id)
    assert store.get_run(run_id)["status"] == "cancelled"
    assert executor.wait(run_id, timeout=120) == "cancelled"
    assert run_id not in executor.active_runs()
    assert store.get_run(run_id)["n_done"] < len(cfg.tasks())
    client = executor.client

    def run_tasks(dask_scheduler, prefix=f"wqml-point-{run_id}-"):
        return [k for k in dask_scheduler.tasks if str(k).startswith(prefix)]

    until(lambda: client.run_on_scheduler(run_tasks) == [])  # nothing of the run left on the cluster
    until(lambda: all(n == 0 for n in client.run(lambda dask_worker: len(dask_worker.state.executing)).values()))
    n_done = store.get_run(run_id)["n_done"]
    time.sleep(0.5)
    assert store.get_run(run_id)["n_done"] == n_done  # and nothing more is written


def test_running_task_checks_the_cancel_event(executor):
    """A task whose run's Event is set raises Cancelled at its next check (here: its first)."""
    from distributed import Event

    client = executor.client
    cfg = RunConfig(series=["sorted:l1"], **SMALL)
    inputs = client.submit(worker_tasks.prepare_inputs, cfg.to_dict(), 0, "sorted:l1")
    Event("wqml-test-cancel", client=client).set()
    fut = client.submit(worker_tasks.fit_task, inputs, cfg.to_dict(), "sorted:l1", 40, 0, "wqml-test-cancel")
    with pytest.raises(Cancelled):
        fut.result(timeout=120)
    ok = client.submit(worker_tasks.fit_task, inputs, cfg.to_dict(), "sorted:l1", 40, 0, "wqml-unset-event")
    assert ok.result(timeout=120).mae > 0


def test_failing_task_fails_its_run_only(executor):
    client = executor.client
    client.run(exec, _INJECT, {})
    try:
        bad = executor.submit(RunConfig(series=["sorted:l1"], name="bad", **{**SMALL, "sizes": [40, 77]}))
        good = executor.submit(RunConfig(series=["sorted:l1"], name="good", **SMALL))
        assert executor.wait(bad, timeout=300) == "failed"
        assert executor.wait(good, timeout=300) == "finished"
    finally:
        client.run(exec, _RESTORE, {})
    run = executor.store.get_run(bad)
    assert "injected failure at n=77" in run["error"] and "sorted:l1 n=77" in run["error"]
    assert executor.progress(bad).message.startswith("failed: ")
    assert executor.store.get_run(good)["n_done"] == 2
    # a failed run resumes: only the missing point is computed
    assert executor.store.missing_tasks(bad) == [("sorted:l1", 77, 0)]
    executor.resume(bad)
    assert executor.wait(bad, timeout=300) == "finished"
    assert executor.store.get_run(bad)["error"] is None


def test_interrupted_run_resumes_only_missing_points(executor, qm9):
    store = executor.store
    cfg = RunConfig(series=["sorted:l1", "sorted:w1"], seeds=[3], **SMALL)
    run_id = store.create_run(cfg)
    store.set_status(run_id, "running")
    ref = run_learning_curve(qm9, cfg.settings_for(3))
    done = [p for p in ref.points if p.n_train == 40]
    for p in done:
        store.add_point(run_id, f"{p.order}:{p.metric}", p.n_train, 3, p, y_test=ref.y_test)
    before = store.points(run_id).set_index(["series", "size"])["finished"]
    with sqlite3.connect(store.path) as conn:  # the server that ran it has died
        conn.execute("UPDATE runs SET owner = 'elsewhere:1:1.0' WHERE id = ?", (run_id,))
    assert store.get_run(run_id)["owner"] == "elsewhere:1:1.0"
    # a foreign host is not touched by default ...
    with RunExecutor(store, scheduler=executor.client.scheduler.address) as other:
        assert run_id not in other.interrupted
    with sqlite3.connect(store.path) as conn:  # ... a dead process on this host is
        conn.execute("UPDATE runs SET owner = ? WHERE id = ?", (f"{socket.gethostname()}:1:1.0", run_id))
    with RunExecutor(store, scheduler=executor.client.scheduler.address) as other:
        assert run_id in other.interrupted
        assert store.get_run(run_id)["status"] == "interrupted"
        assert store.missing_tasks(run_id) == [("sorted:l1", 80, 3), ("sorted:w1", 80, 3)]
        other.resume(run_id)
        with pytest.raises(ValueError, match="already running"):
            other.resume(run_id)
        assert other.wait(run_id, timeout=300) == "finished"
    after = store.points(run_id).set_index(["series", "size"])["finished"]
    assert (after.loc[before.index] == before).all()  # the finished points were not redone
    assert len(after) == 4
    assert_matches_reference(store, run_id, qm9, cfg)


def test_delete_an_active_run(executor):
    cfg = RunConfig(series=list(PAPER_SERIES), sizes=[300, 1500, 2500], n_test=500, folds=5)
    run_id = executor.submit(cfg)
    until(lambda: executor.store.get_run(run_id)["status"] == "running")
    executor.delete(run_id)
    assert run_id not in executor.active_runs()
    with pytest.raises(KeyError):
        executor.store.get_run(run_id)
    with pytest.raises(KeyError):
        executor.progress(run_id)


def test_progress_of_a_run_in_another_process(executor):
    from .store_writer import fake_point

    store = executor.store
    cfg = RunConfig(series=["sorted:l1"], sizes=[40, 80], n_test=100, folds=3)
    run_id = store.create_run(cfg)
    store.set_status(run_id, "running")  # e.g. a `wqml learning-curve --store` in a terminal
    assert executor.progress(run_id).eta_seconds is None  # nothing finished yet
    store.add_point(run_id, "sorted:l1", 40, 0, fake_point("sorted:l1", 40, 0))
    p = executor.progress(run_id)
    assert (p.status, p.done, p.total, p.message) == ("running", 1, 2, "running in another process")
    assert p.eta_seconds is not None and p.eta_seconds >= 0
    assert run_id not in executor.active_runs()
    executor.cancel(run_id)  # not ours: left alone
    assert store.get_run(run_id)["status"] == "running"


def test_resume_right_after_cancel(executor):
    cfg = RunConfig(series=["sorted:l1", "sorted:w1"], sizes=[40, 80, 160], n_test=100, folds=3,
                    sigma_factors=[1.0, 4.0], lambdas=[1e-8])
    run_id = executor.submit(cfg)
    executor.cancel(run_id)
    executor.resume(run_id)  # waits for the cancelled driver, then computes what is missing
    assert executor.wait(run_id, timeout=300) == "finished"
    assert executor.store.get_run(run_id)["n_done"] == 6


def test_final_status_is_written_before_the_run_leaves_active_runs(executor, monkeypatch):
    """Whoever polls `active_runs` (the CLI, the app) and sees a run gone reads its final status."""
    seen = []
    real = executor.store.set_status

    def spy(run_id, status, error=None):
        seen.append((status, run_id in executor.active_runs()))
        return real(run_id, status, error)

    monkeypatch.setattr(executor.store, "set_status", spy)
    run_id = executor.submit(RunConfig(series=["sorted:l1"], **{**SMALL, "sizes": [40]}))
    assert executor.wait(run_id, timeout=300) == "finished"
    assert seen[-1] == ("finished", True)


def test_a_worker_the_cluster_gave_up_is_started_again(executor):
    """LocalCluster drops a worker whose restart outlasts its lost-worker timeout (seen on a busy
    machine after repeated deaths); the next run brings the cluster back to its size."""
    cluster = executor._cluster
    name = next(iter(cluster.workers))
    gone = cluster.workers.pop(name)  # what SpecCluster does when it gives a worker up
    cluster.sync(gone.close)
    until(lambda: len(executor.client.scheduler_info()["workers"]) == len(cluster.worker_spec) - 1)
    run_id = executor.submit(RunConfig(series=["sorted:l1"], sizes=[20], n_test=50, folds=2))
    assert executor.wait(run_id, timeout=300) == "finished"
    until(lambda: name in cluster.workers
          and len(executor.client.scheduler_info()["workers"]) == len(cluster.worker_spec))
