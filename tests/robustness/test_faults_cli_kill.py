"""``wqml learning-curve --store`` SIGKILLed mid-run (``kill -9``, the OOM killer): nothing
stored is lost, its Dask workers exit, ``wqml runs list`` says interrupted, and ``wqml runs
resume`` computes only the missing points, equal to an uninterrupted run's."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import psutil
import pytest
from runs.test_executor import assert_matches_reference, until

from wqml_dash.runs.store import RunStore

from .conftest import ROOT, kill_all, wait_gone

pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="signals")]


def wqml(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wqml_dash.cli", *args], capture_output=True, text=True,
                          timeout=600, cwd=ROOT, **kwargs)


def test_sigkill_of_a_cli_run_then_resume(tmp_path, qm9):
    path = tmp_path / "runs.sqlite"
    log = open(tmp_path / "cli.log", "w+")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "wqml_dash.cli", "learning-curve", "--series", "sorted:l1", "--series", "sorted:w1",
         "--sizes", "20,40,3000", "--test", "50", "--folds", "2", "--store", str(path), "--quiet"],
        stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    children: list[psutil.Process] = []
    try:
        until(lambda: proc.poll() is not None or (path.exists() and _n_done(path) >= 4), timeout=300, step=0.05)
        assert proc.poll() is None, open(log.name).read()
        children = psutil.Process(proc.pid).children(recursive=True)
        before = RunStore(path).points(1)
        os.kill(proc.pid, signal.SIGKILL)  # the CLI process only, as `kill -9 PID` does
        t0 = time.monotonic()
        proc.wait(30)
        survivors = wait_gone(children, timeout=60)
        t_gone = time.monotonic() - t0
        assert survivors == [], f"orphaned processes: {[p.cmdline() for p in survivors]}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        kill_all(children)
        log.close()

    store = RunStore(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    run = store.get_run(1)
    assert run["status"] == "running" and 4 <= run["n_done"] < run["n_total"] == 6  # as the dead process left it
    after = store.points(1).set_index(["series", "size", "seed"])
    assert set(before.set_index(["series", "size", "seed"]).index) <= set(after.index)
    for series, size, seed in after.index:
        y_true, y_pred = store.predictions(1, series, size, seed)
        assert y_true.shape == y_pred.shape == (50,)

    listing = wqml("runs", "list", "--store", str(path))
    assert listing.returncode == 0, listing.stderr
    assert " interrupted " in listing.stdout and f"{run['n_done']}/6" in listing.stdout

    t1 = time.monotonic()
    resumed = wqml("runs", "resume", "1", "--store", str(path), "--quiet")
    t_resume = time.monotonic() - t1
    assert resumed.returncode == 0, resumed.stderr
    assert "Traceback" not in resumed.stderr
    final = store.points(1).set_index(["series", "size", "seed"])
    assert (final.loc[after.index, "finished"] == after["finished"]).all()  # the stored points were kept
    assert store.get_run(1)["status"] == "finished"
    assert_matches_reference(store, 1, qm9, store.get_config(1))
    print(f"\nCLI SIGKILLed with {len(after)}/6 points stored: its {len(children)} child processes gone "
          f"{t_gone:.2f} s later; `wqml runs resume` finished the rest in {t_resume:.1f} s")


def _n_done(path) -> int:
    try:
        return RunStore(path).get_run(1)["n_done"]
    except (KeyError, Exception):
        return 0
