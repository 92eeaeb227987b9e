"""The classroom benchmark at a small N: Bokeh's Python client opens sessions at once and changes
their scans; every session opens, every change is answered, no session sees another's state.
Timings are measured by ``benchmarks/classroom.py`` (``benchmarks/results/classroom_*.json``), not here."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _classroom():
    spec = importlib.util.spec_from_file_location("classroom", ROOT / "benchmarks" / "classroom.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_small_class_opens_changes_scans_and_sees_only_its_own(tmp_path, launch_server):
    env = {**os.environ, "WQML_STORE": str(tmp_path / "runs.sqlite")}
    env.pop("WQML_SCHEDULER", None)
    proc, port = launch_server([sys.executable, "-m", "panel", "serve", str(ROOT / "app.py"), "--port", "{port}",
                                "--address", "127.0.0.1", "--allow-websocket-origin", "127.0.0.1:{port}"],
                               "http://127.0.0.1:{port}/app", env, tmp_path / "serve.log", timeout=300)
    out = _classroom().run_classroom(f"http://127.0.0.1:{port}/app", n=3, duration=8, every=2, runs=0, seed=0,
                                     timeout=120, server_pid=proc.pid)
    assert out["errors"] == [] and out["crosstalk"] == []
    assert out["interactive_ms"]["n"] == 3 and out["scan_changes"] >= 3
    assert out["server_rss_mb_end"] > 0
