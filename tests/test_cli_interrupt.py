"""Ctrl-C during a learning curve: exit code 130, the finished points printed, no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest


def _hear_ctrl_c():
    """Default SIGINT handling in the child: a shell that started pytest in the background set it to
    ignored, and children inherit that (the CLI would then never see the Ctrl-C sent here)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.skipif(os.name != "posix", reason="sends SIGINT")
def test_ctrl_c_stops_a_run_and_keeps_finished_points():
    proc = subprocess.Popen(
        [sys.executable, "-m", "wqml_dash.cli", "learning-curve", "--series", "sorted:w1",
         "--sizes", "50,100,2000,4000", "--test", "200", "--folds", "3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=_hear_ctrl_c)
    stderr = ""
    deadline = time.time() + 120
    # Wait until the first point has finished (the bar reports "MAE"), then interrupt.
    while time.time() < deadline and proc.poll() is None:
        chunk = os.read(proc.stderr.fileno(), 4096).decode(errors="replace")
        stderr += chunk
        if "n=2000" in stderr:
            break
    assert proc.poll() is None, stderr
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    err = stderr + err
    assert proc.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err
    assert "w1" in err and "50" in err  # the table of finished points
