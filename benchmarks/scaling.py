"""Time against training size for the W1 kernel (distances + kernel) and the KRR fit.

    python benchmarks/scaling.py [--sizes 1000,2000,4000,8000,16000] [--out benchmarks/results]

For each size n: W1 distances of n sorted QM9 CMs (each pair once, sort included), then the
in-place KRR fit (kernel written into the distance matrix, LAPACK Cholesky). Medians of
``--repeats`` runs; a power law ``t = c n^p`` fitted (least squares in log-log) to the sizes
at or above ``--fit-from`` gives the exponents (ideal: 2 for the kernel, 3 for the fit).
Writes ``scaling.json`` and ``scaling.png`` (needs matplotlib: ``pip install matplotlib``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from wqml_dash.bench import machine, qm9_sorted_cms
from wqml_dash.core.learn.krr import KernelRidge
from wqml_dash.core.learn.metrics import distances


def _median(fn, repeats):
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,2000,4000,8000,16000")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--fit-from", type=int, default=2000, help="fit exponents on sizes >= this")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    a = p.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")]
    X, y = qm9_sorted_cms(max(sizes))
    distances("w1", X[:64])  # compile
    rows = []
    for n in sizes:
        t_kernel = _median(lambda n=n: distances("w1", X[:n]), a.repeats)
        D = distances("w1", X[:n])

        def fit(n=n, D=D):
            work = D.copy()
            t = time.perf_counter()
            KernelRidge("w1", 4.0, 1e-8, precomputed=True).fit(work, y[:n], overwrite=True)
            return time.perf_counter() - t

        t_fit = statistics.median(fit() for _ in range(a.repeats))
        rows.append({"n": n, "kernel_s": t_kernel, "fit_s": t_fit})
        print(f"n={n:>6}  W1 distances {t_kernel:8.3f} s   KRR fit {t_fit:8.3f} s", flush=True)
        del D

    big = [r for r in rows if r["n"] >= a.fit_from]
    exps = {}
    for key in ("kernel_s", "fit_s"):
        slope, icpt = np.polyfit(np.log([r["n"] for r in big]), np.log([r[key] for r in big]), 1)
        exps[key] = {"exponent": float(slope), "prefactor_s": float(np.exp(icpt))}
        print(f"{key}: t ~ n^{slope:.2f}")
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "scaling.json").write_text(json.dumps({"machine": machine(), "rows": rows, "power_laws": exps},
                                                   indent=2))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=120)
    ns = np.array([r["n"] for r in rows])
    for key, label, colour in (("kernel_s", "W1 distances (sort + all pairs)", "#1f77b4"),
                               ("fit_s", "KRR fit (kernel + Cholesky solve)", "#d62728")):
        ax.loglog(ns, [r[key] for r in rows], "o", color=colour, label=label)
        law = exps[key]
        ax.loglog(ns, law["prefactor_s"] * ns ** law["exponent"], "-", color=colour, alpha=0.6,
                  label=f"fit: n^{law['exponent']:.2f}")
    ax.set_xlabel("training molecules n")
    ax.set_ylabel("seconds (median)")
    ax.set_title(f"wqml-dash scaling on {machine()['cpus']} CPU cores")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(a.out / "scaling.png")
    print(f"wrote {a.out / 'scaling.png'}")


if __name__ == "__main__":
    main()
