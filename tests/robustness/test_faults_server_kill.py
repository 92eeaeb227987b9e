"""SIGKILL of the served app in the middle of a learning-curve run launched from the browser.

What must hold: the store is a sound SQLite file with every point that had been stored, each
complete (predictions and test set); no run claims to be finished; the killed server's Dask
worker processes exit on their own; a new server on the same store shows the run as
interrupted, and Resume computes only the missing points, which equal an uninterrupted run's.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
import uuid

import pytest
from runs.test_executor import assert_matches_reference, until

from wqml_dash.runs.store import RunStore

from .app_driver import launch_run, open_tab, press, row
from .conftest import wait_gone

pytestmark = [pytest.mark.browser, pytest.mark.skipif(os.name != "posix", reason="signals")]

SERIES = (("L1", "sorted"), ("W1", "sorted"))
#: Two quick sizes stored before the kill; the big one (seconds per point) runs while it happens.
SIZES, N_TEST = "20, 40, 3000", 50


@pytest.mark.slow  # about 2 min (a large point after the restart); the SIGTERM test runs by default
def test_sigkill_of_the_server_mid_run(serve_app, page, tmp_path, qm9, shots):
    store_path = tmp_path / "runs.sqlite"
    app = serve_app(store_path)
    open_tab(page, app.url)
    name = f"killed-{uuid.uuid4().hex[:6]}"
    launch_run(page, name, SIZES, N_TEST, SERIES)
    store = RunStore(store_path)
    run_id = int(store.list_runs().set_index("name").loc[name, "id"])
    n_total = store.get_run(run_id)["n_total"]
    assert n_total == 6

    until(lambda: store.get_run(run_id)["n_done"] >= 4, timeout=300, step=0.05)  # the small sizes are in
    before = store.points(run_id)
    children = app.children()
    workers = [p for p in children if "spawn_main" in " ".join(p.cmdline())]  # multiprocessing's spawn
    assert len(workers) >= 1, f"no Dask worker process among {[p.cmdline() for p in children]}"
    app.sigkill()  # the server process alone (not its group): would its Dask workers be orphaned?
    killed_at = time.monotonic()

    run = store.get_run(run_id)
    if run["n_done"] == n_total:
        pytest.fail("the run finished before the kill; make its largest size bigger")
    # the file is sound, every point stored before the kill is there and complete
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    after = store.points(run_id)
    kept = after.set_index(["series", "size", "seed"])
    for p in before.itertuples(index=False):
        assert kept.loc[(p.series, p.size, p.seed), "mae"] == p.mae
    for p in after.itertuples(index=False):
        y_true, y_pred = store.predictions(run_id, p.series, p.size, p.seed)
        assert y_true.shape == y_pred.shape == (N_TEST,)
    assert run["status"] == "running" and run["finished"] is None  # nobody could say otherwise
    assert not ((store.list_runs()["status"] == "finished") & (store.list_runs()["n_done"] < n_total)).any()

    # the workers of the killed server do not linger
    survivors = wait_gone(children, timeout=60)  # the workers and multiprocessing's resource tracker
    gone_after = time.monotonic() - killed_at
    assert survivors == [], f"orphaned Dask workers: {[(p.pid, p.cmdline()) for p in survivors]}"
    print(f"\n{len(workers)} workers ({len(children)} processes) of the SIGKILLed server gone "
          f"{gone_after:.2f} s after the kill; {len(after)}/{n_total} points were stored")

    # a new server on the same store: the run is interrupted and resumes
    app2 = serve_app(store_path)
    open_tab(page, app2.url)
    r = row(page, name)
    r.locator(".wqml-status-interrupted").wait_for(timeout=60_000)
    assert store.get_run(run_id)["status"] == "interrupted"
    r.locator(".tabulator-cell[tabulator-field='name']").click()
    page.locator(".wqml-run-details").get_by_text("(interrupted)").wait_for(timeout=10_000)
    r.scroll_into_view_if_needed()
    page.screenshot(path=shots("interrupted"))
    press(page, "resume")
    page.get_by_text(f"Run {run_id} resumed: computing its {n_total - len(after)} missing points").wait_for(
        timeout=30_000)
    r.locator(".wqml-status-finished").wait_for(timeout=300_000)
    r.locator(".wqml-progress[data-done='6']").wait_for(timeout=10_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=shots("resumed"))
    final = store.points(run_id).set_index(["series", "size", "seed"])
    stored = after.set_index(["series", "size", "seed"])
    assert (final.loc[stored.index, "finished"] == stored["finished"]).all()  # not recomputed
    assert_matches_reference(store, run_id, qm9, store.get_config(run_id))
    assert store.get_run(run_id)["error"] is None
    assert page.errors == []


@pytest.mark.slow
def test_sigterm_of_the_server_mid_run_leaves_the_run_interrupted(serve_app, page, tmp_path):
    """``kill PID`` / a service manager stopping the server: Bokeh shuts down, distributed's exit
    handler closes the cluster under the running run; the run ends interrupted, never finished."""
    store_path = tmp_path / "runs.sqlite"
    app = serve_app(store_path)
    open_tab(page, app.url)
    name = f"terminated-{uuid.uuid4().hex[:6]}"
    launch_run(page, name, SIZES, N_TEST, SERIES)
    store = RunStore(store_path)
    run_id = int(store.list_runs().set_index("name").loc[name, "id"])
    until(lambda: store.get_run(run_id)["n_done"] >= 4, timeout=300, step=0.05)
    children = app.children()
    t0 = time.monotonic()
    os.kill(app.proc.pid, signal.SIGTERM)
    app.proc.wait(120)
    t_exit = time.monotonic() - t0
    run = store.get_run(run_id)
    assert run["n_done"] < 6, "the run finished before the signal; make its largest size bigger"
    assert run["status"] == "interrupted" and run["error"] is None
    with sqlite3.connect(store_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert wait_gone(children, timeout=60) == []
    print(f"\nSIGTERM: server exited after {t_exit:.2f} s, run {run['status']} with {run['n_done']}/6 points, "
          f"its workers gone")
