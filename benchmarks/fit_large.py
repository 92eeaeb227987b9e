"""One KRR fit on a large QM9 training set on the CPU: time, peak memory, test MAE.

    python benchmarks/fit_large.py [--n 16000] [--test 2000] [--json benchmarks/results/fit_16000.json]

W1 on sorted CMs with sigma and lambda given (no cross-validation): the point is whether a
fit of this size fits in memory and how long it takes. The distance matrix (n x n float64) is
turned into the kernel and factorised in place, so the fit needs about 8 n^2 bytes
(16,000: 2 GB; 32,000: 8.2 GB. Past `krr.LAPACK_LIMIT_BYTES` the factorisation goes panel by panel,
because OpenBLAS's dpotrf crashed on a 32,000 system in one call).
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np

from wqml_dash.bench import machine, qm9_sorted_cms
from wqml_dash.core.learn.krr import KernelRidge
from wqml_dash.core.learn.metrics import distances, sorted_entries


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=16000)
    p.add_argument("--test", type=int, default=2000)
    p.add_argument("--sigma", type=float, default=2.0, help="W1 kernel width (the CV optimum near 4,000 is ~1.9)")
    p.add_argument("--lam", type=float, default=1e-4)
    p.add_argument("--json")
    a = p.parse_args()
    X, y = qm9_sorted_cms(a.n + a.test)
    X = sorted_entries(X)
    Xtr, ytr, Xte, yte = X[: a.n], y[: a.n], X[a.n:], y[a.n:]
    t0 = time.perf_counter()
    D = distances("w1", Xtr, presorted=True)
    t1 = time.perf_counter()
    model = KernelRidge("w1", a.sigma, a.lam, precomputed=True).fit(D, ytr, overwrite=True)
    del D
    t2 = time.perf_counter()
    pred = model.predict(distances("w1", Xte, Xtr, presorted=True))
    t3 = time.perf_counter()
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB
    result = {"n": a.n, "n_test": a.test, "sigma": a.sigma, "lambda": a.lam,
              "distances_s": t1 - t0, "fit_s": t2 - t1, "predict_s": t3 - t2, "total_s": t3 - t0,
              "test_mae_kcal_mol": float(np.abs(pred - yte).mean()), "peak_rss_gib": peak_gib,
              "machine": machine()}
    print(json.dumps(result, indent=2))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
