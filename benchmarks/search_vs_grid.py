"""The default hyperparameter search against the full grid, per series and training size (issue 16).

    python benchmarks/search_vs_grid.py [--series random:l1,...] [--sizes 125,250,500,1000]
        [--test 2000] [--folds 5] [--seed 0] [--json benchmarks/results/search_vs_grid.json]

For every series and size, the learning-curve point of the paper's protocol (one seed's split, a
held-out test set, 5-fold CV on the training set alone) with ``search="local"`` (the default: a
coarse probe, then a local search, on this size's training set alone) and with ``search="grid"``
(the whole sigma x lambda grid), on the same distances. Prints test MAE, CV MAE, sigma, sigma /
median distance, lambda, the edge flag, the number of (sigma, lambda) evaluations and the seconds of
each, and writes them as JSON. The two searches agree when their CV MAE does; a point on the flat
wide-kernel ridge may differ in sigma with the same CV error.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from wqml_dash.bench import machine
from wqml_dash.core.data import load_qm9
from wqml_dash.core.learn.backends import get_backend
from wqml_dash.core.learn.plan import compute_distances, fit_point, prepare_inputs
from wqml_dash.core.learn.settings import PAPER_SERIES, LearningCurveSettings

SEARCHES = ("local", "grid")


def compare(dataset, series: list[str], sizes: list[int], n_test: int, folds: int, seed: int) -> list[dict]:
    """One row per (series, size): both searches' points as dicts (`CurvePoint.to_json` without the
    CV table, plus ``evaluations``)."""
    backend = get_backend("cpu")
    rows = []
    for key in series:
        settings = {s: LearningCurveSettings(series=[key], sizes=sizes, n_test=n_test, folds=folds, seed=seed,
                                             search=s, device="cpu") for s in SEARCHES}
        inputs = prepare_inputs(dataset, settings["grid"], key)
        metric = key.split(":")[1]
        dist = compute_distances(inputs, metric, backend)
        for n in sizes:
            row = {"series": key, "size": n}
            for s in SEARCHES:
                p = fit_point(inputs.X_train, inputs.y_train, inputs.X_test, inputs.y_test, key.split(":")[0],
                              metric, n, settings[s], D_train=dist.train, D_test=dist.test, backend=backend)
                d = p.to_json()
                d["evaluations"] = len(d.pop("cv_table"))
                row[s] = d
            rows.append(row)
            print(_line(row), flush=True)
    return rows


HEAD = (f"{'series':<10}{'n':>6} | {'search':<6}{'MAE':>8}{'CV MAE':>9}{'sigma':>11}{'s/med':>8}{'lambda':>8}"
        f"{'edge':>22}{'evals':>6}{'s':>7}")


def _line(row: dict) -> str:
    out = []
    for i, s in enumerate(SEARCHES):
        p = row[s]
        lead = f"{row['series']:<10}{row['size']:>6}" if i == 0 else " " * 16
        out.append(f"{lead} | {s:<6}{p['mae']:>8.3f}{p['cv_mae']:>9.3f}{p['sigma']:>11.4g}{p['sigma_factor']:>8.6g}"
                   f"{p['lambda']:>8.0e}{p['at_edge'] or '-':>22}{p['evaluations']:>6}{p['fit_seconds']:>7.1f}")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--series", default=",".join(PAPER_SERIES))
    p.add_argument("--sizes", default="125,250,500,1000")
    p.add_argument("--test", type=int, default=2000)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=str(Path(__file__).parent / "results" / "search_vs_grid.json"))
    args = p.parse_args()
    series, sizes = args.series.split(","), [int(s) for s in args.sizes.split(",")]
    t0 = time.perf_counter()
    print(HEAD)
    print("-" * len(HEAD))
    rows = compare(load_qm9(), series, sizes, args.test, args.folds, args.seed)
    wall = time.perf_counter() - t0
    same = sum(abs(r["local"]["cv_mae"] - r["grid"]["cv_mae"]) <= 1e-9 * r["grid"]["cv_mae"] for r in rows)
    worst = max((r["local"]["cv_mae"] / r["grid"]["cv_mae"] - 1 for r in rows), default=0.0)
    seconds = {s: sum(r[s]["fit_seconds"] for r in rows) for s in SEARCHES}
    print(f"same CV MAE at {same} of {len(rows)} points; local's CV MAE at most {100 * worst:+.3f} % of the grid's; "
          f"search and fit {seconds['local']:.1f} s (local) vs {seconds['grid']:.1f} s (grid); wall {wall:.0f} s")
    out = {"command": "python benchmarks/search_vs_grid.py " + " ".join(
               f"--{k} {v}" for k, v in (("series", args.series), ("sizes", args.sizes), ("test", args.test),
                                        ("folds", args.folds), ("seed", args.seed))),
           "machine": machine(), "wall_seconds": wall, "search_seconds": seconds, "rows": rows}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
