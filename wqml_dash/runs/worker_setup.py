"""Dask preload for the embedded cluster's workers (``preload=["wqml_dash.runs.worker_setup"]``).

Ctrl-C in a terminal reaches every process of the foreground group, the workers included; they
would print Dask's shutdown tracebacks. The process that launched the run handles Ctrl-C (its
runs become interrupted, resumable) and shuts its workers down itself, so they ignore SIGINT.
"""

from __future__ import annotations

import signal
import threading


def dask_setup(worker) -> None:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
