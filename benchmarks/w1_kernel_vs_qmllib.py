"""W1 kernel matrix of 300 QM9 molecules: wqml-dash against qmllib (the paper authors' code).

    python benchmarks/w1_kernel_vs_qmllib.py [--n 300] [--json benchmarks/results/w1_kernel_vs_qmllib.json]

Both compute the same 300 x 300 matrix on the same sorted Coulomb matrices, in one run; the
script checks they agree (1e-10 relative) and reports medians and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import numpy as np


def _median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--sigma", type=float, default=4.0)
    p.add_argument("--json")
    a = p.parse_args()

    from qmllib.kernels import wasserstein_kernel

    from wqml_dash.core.kernels import kernel_matrix
    from wqml_dash.core.data import load_qm9
    from wqml_dash.core.representations import dataset_coulomb_vectors

    qm9 = load_qm9()
    rows = np.random.default_rng(0).choice(len(qm9), a.n, replace=False)
    X = dataset_coulomb_vectors(qm9, rows, order="sorted")
    ours = kernel_matrix("w1", X, None, a.sigma)  # also compiles
    ref = wasserstein_kernel(X, X, a.sigma)
    max_rel = float(np.max(np.abs(ours - ref) / np.abs(ref)))
    assert max_rel < 1e-10, max_rel

    t_ours, all_ours = _median_seconds(lambda: kernel_matrix("w1", X, None, a.sigma), 21)
    t_ref, all_ref = _median_seconds(lambda: wasserstein_kernel(X, X, a.sigma), 3)
    result = {
        "n": a.n, "entries": X.shape[1], "max_relative_difference": max_rel,
        "wqml_median_s": t_ours, "qmllib_median_s": t_ref, "speedup": t_ref / t_ours,
        "qmllib_us_per_pair": 1e6 * t_ref / a.n ** 2,
        "wqml_runs_s": all_ours, "qmllib_runs_s": all_ref,
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version()},
    }
    print(f"W1 kernel {a.n}x{a.n} (d={X.shape[1]}): wqml-dash {t_ours * 1e3:.2f} ms, "
          f"qmllib {t_ref:.2f} s  ->  {t_ref / t_ours:,.0f}x  (max rel. diff {max_rel:.1e})")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
