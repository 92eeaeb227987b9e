"""The SQLite run store: round trip, statuses, concurrent writers, a killed writer, schema version."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from wqml_dash.runs.config import RunConfig
from wqml_dash.runs.store import (
    POINT_COLUMNS,
    RUN_COLUMNS,
    SCHEMA_VERSION,
    SEARCH_COLUMNS,
    STATUSES,
    RunStore,
    StoreError,
    StoreVersionError,
    default_store_path,
)

sys.path.insert(0, str(Path(__file__).parent))
from store_writer import fake_point  # noqa: E402

WRITER = Path(__file__).parent / "store_writer.py"
CONFIG = RunConfig(series=["sorted:l1", "sorted:w1"], sizes=[40, 80], n_test=100, folds=3, seeds=[0, 1],
                   name="small")


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs.sqlite")


def _pragma(path, name):
    with sqlite3.connect(path) as conn:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]


def test_new_store_is_wal_and_versioned(store):
    assert _pragma(store.path, "journal_mode") == "wal"
    assert _pragma(store.path, "user_version") == SCHEMA_VERSION == store.schema_version
    assert list(store.list_runs().columns) == list(RUN_COLUMNS)
    assert list(store.points().columns) == [*POINT_COLUMNS, *SEARCH_COLUMNS]  # the search's report after them
    assert len(store.list_runs()) == 0


def test_round_trip(store):
    rid = store.create_run(CONFIG)
    run = store.get_run(rid)
    assert run["name"] == "small" and run["status"] == "queued"
    assert run["n_done"] == 0 and run["n_total"] == 8
    assert RunConfig.from_dict(run["config"]).to_dict() == CONFIG.to_dict()
    assert store.get_config(rid).seeds == [0, 1]
    assert isinstance(run["created"], pd.Timestamp) and run["started"] is None

    point = fake_point("sorted:w1", 80, 1)
    y = np.linspace(-1, 1, 50)
    store.add_point(rid, "sorted:w1", 80, 1, point, y_test=y)
    df = store.points(rid)
    assert len(df) == 1
    row = df.iloc[0]
    assert (row["series"], row["order"], row["metric"], row["size"], row["seed"]) == ("sorted:w1", "sorted", "w1",
                                                                                      80, 1)
    for col in ("mae", "rmse", "sigma", "lam", "cv_mae", "fit_seconds", "predict_seconds"):
        assert row[col] == getattr(point, col)
    assert row["seconds"] == pytest.approx(point.fit_seconds + point.predict_seconds)
    y_true, y_pred = store.predictions(rid, "sorted:w1", 80, 1)
    np.testing.assert_array_equal(y_true, y)
    np.testing.assert_array_equal(y_pred, point.predictions)
    assert y_pred.dtype == np.float64 and y_pred.flags.writeable
    assert store.get_run(rid)["n_done"] == 1
    assert store.missing_tasks(rid) == [t for t in CONFIG.tasks() if t != ("sorted:w1", 80, 1)]
    with pytest.raises(KeyError):
        store.predictions(rid, "sorted:w1", 40, 1)

    rows = np.arange(50) * 7
    store.set_test_set(rid, 0, y, rows)
    y_back, rows_back = store.test_set(rid, 0)
    np.testing.assert_array_equal(rows_back, rows)
    np.testing.assert_array_equal(y_back, y)


def test_statuses_and_timestamps(store):
    rid = store.create_run(CONFIG)
    store.set_status(rid, "running")
    run = store.get_run(rid)
    assert run["status"] == "running" and run["started"] is not None and run["finished"] is None
    store.set_status(rid, "failed", "SolveError: boom")
    run = store.get_run(rid)
    assert run["status"] == "failed" and run["error"] == "SolveError: boom" and run["finished"] is not None
    store.set_status(rid, "queued")  # resumed: the old error goes
    assert store.get_run(rid)["error"] is None and store.get_run(rid)["finished"] is None
    with pytest.raises(ValueError, match="unknown status"):
        store.set_status(rid, "done")
    with pytest.raises(KeyError):
        store.set_status(rid + 100, "running")
    assert set(STATUSES) == {"queued", "running", "finished", "failed", "cancelled", "interrupted"}


def test_list_several_runs_and_points_filter(store):
    a = store.create_run(CONFIG)
    b = store.create_run(RunConfig(series=["random:l2"], sizes=[40], n_test=100, folds=3))
    store.add_point(a, "sorted:l1", 40, 0, fake_point("sorted:l1", 40, 0))
    store.add_point(b, "random:l2", 40, 0, fake_point("random:l2", 40, 0))
    runs = store.list_runs()
    assert runs["id"].tolist() == [a, b]
    assert runs["n_done"].tolist() == [1, 1] and runs["n_total"].tolist() == [8, 1]
    assert runs["name"].tolist() == ["small", "random:l2, n 40, seed 0"]
    assert isinstance(runs["config"].iloc[0], dict)
    assert store.points([b])["run_id"].tolist() == [b]
    assert len(store.points()) == 2 and len(store.points([])) == 0


def test_delete_cascades(store):
    rid = store.create_run(CONFIG)
    store.add_point(rid, "sorted:l1", 40, 0, fake_point("sorted:l1", 40, 0), y_test=np.zeros(50))
    store.delete_run(rid)
    with pytest.raises(KeyError):
        store.get_run(rid)
    with sqlite3.connect(store.path) as conn:
        for table in ("points", "predictions", "test_sets"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    with pytest.raises(KeyError):
        store.delete_run(rid)
    with pytest.raises(KeyError):
        store.add_point(rid, "sorted:l1", 80, 0, fake_point("sorted:l1", 80, 0))


def test_the_fingerprint_changes_with_every_change_a_table_shows(store):
    seen = [store.fingerprint()]

    def changed(step):
        step()
        now = store.fingerprint()
        assert now not in seen, step
        seen.append(now)

    changed(lambda: store.create_run(CONFIG))
    rid = store.list_runs()["id"].iloc[-1]
    changed(lambda: store.set_status(rid, "running"))
    changed(lambda: store.add_point(rid, "sorted:l1", 40, 0, fake_point("sorted:l1", 40, 0)))
    changed(lambda: store.rename_run(rid, "renamed"))
    changed(lambda: store.create_run(CONFIG))
    changed(lambda: store.delete_run(rid))
    store.list_runs(), store.points(), store.get_run(rid + 1)  # reading changes nothing
    assert store.fingerprint() == seen[-1]
    assert RunStore(store.path).fingerprint() == seen[-1]  # another process's view of the same file


def test_mark_interrupted_only_dead_owners(store):
    alive = store.create_run(CONFIG)
    store.set_status(alive, "running")  # owned by this (live) process
    dead = store.create_run(CONFIG)
    store.set_status(dead, "running")
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with sqlite3.connect(store.path) as conn:  # as if a process that has exited had claimed it
        owner = conn.execute("SELECT owner FROM runs WHERE id = ?", (dead,)).fetchone()[0]
        host = owner.split(":")[0]
        conn.execute("UPDATE runs SET owner = ? WHERE id = ?", (f"{host}:{proc.stdout.strip()}:1.0", dead))
    done = store.create_run(CONFIG)
    store.set_status(done, "finished")
    assert store.mark_interrupted() == [dead]
    assert [store.get_run(i)["status"] for i in (alive, dead, done)] == ["running", "interrupted", "finished"]
    assert store.mark_interrupted(force=True) == [alive]


def test_concurrent_writers_threads(store):
    rid = store.create_run(RunConfig(series=["sorted:l1"], sizes=list(range(3, 23)), seeds=list(range(6)),
                                     n_test=100, folds=3))
    errors = []

    def write(seed):
        try:
            for size in range(3, 23):
                store.add_point(rid, "sorted:l1", size, seed, fake_point("sorted:l1", size, seed),
                                y_test=np.zeros(50))
                store.list_runs()  # readers alongside the writers
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.get_run(rid)["n_done"] == 6 * 20
    assert store.missing_tasks(rid) == []
    assert _pragma(store.path, "integrity_check") == "ok"


def test_concurrent_writers_processes(store):
    rid = store.create_run(CONFIG)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [subprocess.Popen([sys.executable, str(WRITER), str(store.path), str(rid), series, str(seed), "30"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for series in ("sorted:l1", "sorted:w1") for seed in (0, 1)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        assert out.count("done") == 30
    df = store.points(rid)
    assert len(df) == 4 * 30
    assert df.groupby(["series", "seed"]).size().tolist() == [30] * 4
    assert np.all(df["mae"] == df["size"])
    y_true, y_pred = store.predictions(rid, "sorted:w1", 17, 1)
    np.testing.assert_array_equal(y_pred, np.full(50, 17001.0))
    assert _pragma(store.path, "integrity_check") == "ok"


def test_writer_killed_mid_run_keeps_every_finished_point(store):
    rid = store.create_run(CONFIG)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, str(WRITER), str(store.path), str(rid), "sorted:l1", "0", "100000",
                             "--sleep", "0.002"], stdout=subprocess.PIPE, text=True, env=env)
    reported = []
    for line in proc.stdout:
        reported.append(int(line.split()[1]))
        if len(reported) == 40:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _pragma(store.path, "integrity_check") == "ok"
    sizes = set(store.points(rid)["size"])
    assert set(reported) <= sizes  # everything reported as committed is there
    assert sizes == set(range(1, max(sizes) + 1))  # and nothing half-written
    for size in reported:
        y_true, y_pred = store.predictions(rid, "sorted:l1", size, 0)
        assert y_pred[0] == size * 1000
    # the killed process owned the run: it is recognised as interrupted
    assert store.get_run(rid)["status"] == "running"
    assert store.mark_interrupted() == [rid] and store.get_run(rid)["status"] == "interrupted"


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    RunStore(path)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreVersionError, match="newer wqml-dash"):
        RunStore(path)


def test_files_that_are_not_stores(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 200)
    with pytest.raises(StoreError, match="cannot use"):
        RunStore(text)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (x)")
    with pytest.raises(StoreError, match="not a wqml-dash run store"):
        RunStore(other)
    with pytest.raises(StoreError, match="folder"):
        RunStore(tmp_path)


def test_default_path(monkeypatch, tmp_path):
    monkeypatch.setenv("WQML_STORE", str(tmp_path / "env.sqlite"))
    assert default_store_path() == tmp_path / "env.sqlite"
    assert RunStore().path == tmp_path / "env.sqlite"
    monkeypatch.delenv("WQML_STORE")
    assert default_store_path().name == "runs.sqlite" and "wqml-dash" in str(default_store_path())
