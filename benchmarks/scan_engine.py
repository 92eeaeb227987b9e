"""Time the displacement explorer's core: `ScanEngine` construction and `ScanEngine.result`.

    python benchmarks/scan_engine.py [--repeats 20] [--json benchmarks/results/scan_engine.json]

For each case (a teaching example and scan settings) we time, after one warm-up (numba
compilation, caches): building the engine (geometries, Coulomb matrices per order, swap points,
reference energies), and `result()` with a new training set each time (the app's "new training
set" button: fit every model, choose sigma and lambda by leave-one-out, predict the whole grid).
Medians and 95th percentiles of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np

from wqml_dash.core.scan.settings import DEFAULT_MODELS, MODELS
from wqml_dash.core.scan.engine import ScanEngine, settings_for_example
from wqml_dash.core.scan.examples import molecule_from_example

CASES = [
    ("formic_acid", "default models, 201 points", dict(models=list(DEFAULT_MODELS))),
    ("formic_acid", "all 6 models, 201 points", dict(models=list(MODELS))),
    ("pyridine", "all 6 models, 201 points", dict(models=list(MODELS))),
    ("formic_acid", "all 6 models, 2001 points (step 0.001)", dict(models=list(MODELS), step=0.001)),
]


def _stats(seconds: list[float]) -> dict:
    ms = np.array(seconds) * 1e3
    return {"median_ms": float(statistics.median(ms)), "p95_ms": float(np.percentile(ms, 95)),
            "min_ms": float(ms.min()), "runs": len(ms)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--json")
    a = p.parse_args()
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    rows = []
    for key, label, overrides in CASES:
        mol = molecule_from_example(key)
        settings = settings_for_example(key, **overrides)
        ScanEngine(mol, settings).result()  # warm-up: numba compilation, RDKit, imports
        build, fit = [], []
        for _ in range(a.repeats):
            t = time.perf_counter()
            engine = ScanEngine(mol, settings)
            build.append(time.perf_counter() - t)
        for k in range(a.repeats):
            t = time.perf_counter()
            engine.result(seed=k)
            fit.append(time.perf_counter() - t)
        row = {"example": key, "case": label, "grid_points": int(engine.d.size), "atoms": len(mol),
               "engine": _stats(build), "result": _stats(fit)}
        rows.append(row)
        print(f"{key:<11} {label:<40} engine {row['engine']['median_ms']:8.1f} ms (p95 {row['engine']['p95_ms']:.1f})"
              f"   result {row['result']['median_ms']:7.1f} ms (p95 {row['result']['p95_ms']:.1f})")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"machine": platform.platform(), "cpus": os.cpu_count(),
                       "load_average_1min": os.getloadavg()[0], "repeats": a.repeats, "cases": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
