"""Helper process for the store tests: writes fake points into a run store.

``python store_writer.py STORE RUN_ID SERIES SEED N [--sleep S]``: adds points of sizes 1..N for
(SERIES, SEED), printing ``done SIZE`` after each commit. Claims the run (status running).
"""

from __future__ import annotations

import sys
import time

import numpy as np

from wqml_dash.core.learn.results import CurvePoint
from wqml_dash.core.learn.series import parse_series
from wqml_dash.runs.store import RunStore


def fake_point(series: str, size: int, seed: int) -> CurvePoint:
    order, metric = parse_series(series)
    pred = np.full(50, float(size * 1000 + seed))
    return CurvePoint(order, metric, size, mae=float(size), rmse=float(size) + 1, sigma=2.0, lam=1e-8,
                      cv_mae=float(size) + 0.5, fit_seconds=0.01, predict_seconds=0.001, predictions=pred)


if __name__ == "__main__":
    path, run_id, series, seed, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    sleep = float(sys.argv[7]) if len(sys.argv) > 7 and sys.argv[6] == "--sleep" else 0.0
    store = RunStore(path)
    store.set_status(run_id, "running")  # this process owns the run now
    for size in range(1, n + 1):
        store.add_point(run_id, series, size, seed, fake_point(series, size, seed), y_test=np.arange(50.0))
        print(f"done {size}", flush=True)
        if sleep:
            time.sleep(sleep)
