"""Ctrl-C in a terminal during ``wqml learning-curve --store``: the run is left interrupted, no tracebacks.

The terminal sends SIGINT to the whole foreground process group, so the local Dask cluster's
worker processes get it too.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest

from wqml_dash.runs.store import RunStore


def _hear_ctrl_c():
    """Default SIGINT handling in the child: a shell that started pytest in the background set it to
    ignored, and children inherit that (the CLI would then never see the Ctrl-C sent here)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT to a process group")
def test_ctrl_c_leaves_the_run_interrupted(tmp_path):
    path = tmp_path / "runs.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-m", "wqml_dash.cli", "learning-curve", "--series", "sorted:w1", "--series", "sorted:l1",
         "--sizes", "50,100,2500,5000", "--test", "200", "--folds", "3", "--store", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        preexec_fn=_hear_ctrl_c)
    stderr = ""
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        stderr += os.read(proc.stderr.fileno(), 4096).decode(errors="replace")
        if re.search(r"\b[2-6]/8 \[", stderr):  # two points have finished (any two: they run side by side)
            break
    assert proc.poll() is None, stderr
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does
    out, err = proc.communicate(timeout=120)
    err = stderr + err
    assert proc.returncode == 130
    assert "Traceback" not in err and "WARNING" not in err
    assert "wqml runs resume 1" in err
    run = RunStore(path).get_run(1)
    assert run["status"] == "interrupted"
    assert 2 <= run["n_done"] < run["n_total"] == 8
