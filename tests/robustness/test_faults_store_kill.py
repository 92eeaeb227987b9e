"""A process writing points SIGKILLed at random moments, again and again, into one store: the
kills land inside transactions, yet the file stays sound and no point is ever half-written
(a point without its predictions, or a gap before the last committed size)."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wqml_dash.runs.config import RunConfig
from wqml_dash.runs.store import RunStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals")

WRITER = Path(__file__).resolve().parents[1] / "runs" / "store_writer.py"
KILLS = 8


def test_writers_killed_at_random_moments(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    run_id = store.create_run(RunConfig(series=["sorted:l1"], sizes=[20], seeds=list(range(KILLS)), n_test=50,
                                        folds=2))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    rng = random.Random(6)
    reported: dict[int, set[int]] = {}
    for seed in range(KILLS):
        proc = subprocess.Popen([sys.executable, str(WRITER), str(store.path), str(run_id), "sorted:l1", str(seed),
                                 "100000"], stdout=subprocess.PIPE, text=True, env=env)
        first = proc.stdout.readline()  # writing has begun: kill it somewhere in the next 0.3 s
        assert first.startswith("done")
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        out = proc.stdout.read()
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        reported[seed] = {int(line.split()[1]) for line in [first, *out.splitlines()] if line.startswith("done")}
        with sqlite3.connect(store.path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            torn = conn.execute("SELECT COUNT(*) FROM points p LEFT JOIN predictions q USING (run_id, series, size, "
                                "seed) WHERE q.y_pred IS NULL").fetchone()[0]
            assert torn == 0
    points = store.points(run_id)
    for seed, sizes in reported.items():
        stored = set(points.loc[points.seed == seed, "size"])
        assert sizes <= stored  # every commit the writer reported survived
        assert stored == set(range(1, max(stored) + 1))  # and nothing after a gap
    assert store.mark_interrupted() == [run_id]
    print(f"\n{KILLS} writers SIGKILLed mid-write; {len(points)} points stored, none torn")
