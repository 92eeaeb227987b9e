"""Turn the runs of ``benchmarks/reference_curves.sh`` into the reference curves shipped with wqml-dash.

Usage (from the repository root, after the shell script has finished)::

    PYTHONPATH=$PWD python benchmarks/reference_curves.py STORE LOGDIR [--predictions R1]

Writes ``wqml_dash/runs/reference_data/{runs.json,points.csv,predictions.npz}``: the store's runs in
id order become R1, R2, ... (ids -1, -2, ...); their provenance comes from ``LOGDIR`` (the commands
and wall times the shell script logged, ``lscpu`` and ``nproc`` saved next to them, and the commit
in ``commit.txt``). Test-set predictions are shipped for the runs named by ``--predictions``
(float32: about 1e-4 kcal/mol of rounding on energies of about -1,700 kcal/mol).
"""

from __future__ import annotations

import argparse
import json
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

import wqml_dash
from wqml_dash.runs.store import RunStore

OUT = Path(__file__).resolve().parents[1] / "wqml_dash" / "runs" / "reference_data"
#: Names shown in the app and the CLI (which add "reference, precomputed"), by the shell script's tags.
NAMES = {"paper-seed0": "Paper Fig. 3, seed 0", "paper-3seeds": "Paper Fig. 3, 3 seeds (spread)",
         "bob-seed0": "Bag of Bonds L1/W1, seed 0"}


def _log_entries(logdir: Path) -> list[dict]:
    """The (tag, command, start, end, wall seconds) of each run the shell script logged, in order."""
    entries: dict[str, dict] = {}
    for line in (logdir / "commands.txt").read_text().splitlines():
        start = re.match(r"^(\S+) start (\S+): (.*)$", line)
        end = re.match(r"^(\S+) end (\S+): ([0-9.]+) s$", line)
        if start:
            entries[start[2]] = {"tag": start[2], "command": start[3], "started": start[1]}
        elif end:
            entries[end[2]].update(ended=end[1], wall_seconds=round(float(end[3]), 1))
    return [e for e in entries.values() if "wall_seconds" in e]


def _machine(folder: Path) -> dict:
    lscpu = (folder / "lscpu.txt").read_text()
    field = dict(re.findall(r"^([^:\n]+):\s+(.*)$", lscpu, flags=re.M))
    mem_kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
    return {"cpu": field.get("Model name", "?"), "nproc": int((folder / "nproc.txt").read_text()),
            "memory_gib": round(mem_kib / 2 ** 20, 1), "os": platform.platform(),
            "python": platform.python_version(), "numpy": np.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("logdir", type=Path)
    parser.add_argument("--predictions", default="R1", help="comma-separated reference runs that ship predictions")
    args = parser.parse_args()
    store = RunStore(args.store)
    runs = store.list_runs()
    entries = _log_entries(args.logdir / "logs")
    if len(entries) != len(runs) or not (runs["status"] == "finished").all():
        raise SystemExit(f"expected {len(entries)} finished runs, found {runs[['id', 'status']].to_dict('records')}")
    with_predictions = {-int(t.strip()[1:]) for t in args.predictions.split(",") if t.strip()}
    shared = {"wqml_dash_version": wqml_dash.__version__,
              "commit": (args.logdir / "commit.txt").read_text().strip(),
              "script": "benchmarks/reference_curves.sh, then benchmarks/reference_curves.py",
              "machine": _machine(args.logdir),
              "note": "computed with `nice -n 10` on a machine shared with other work (2 cores): wall times "
                      "are upper bounds",
              "built": datetime.now(UTC).isoformat(timespec="seconds")}
    doc_runs, points, arrays = [], [], {}
    for k, (run, entry) in enumerate(zip(runs.itertuples(index=False), entries, strict=True), start=1):
        ref_id = -k
        doc_runs.append({
            "id": ref_id, "name": NAMES.get(entry["tag"], run.name), "status": "finished",
            "created": run.created.isoformat(),
            "started": run.started.isoformat(), "finished": run.finished.isoformat(), "error": None,
            "n_done": int(run.n_done), "n_total": int(run.n_total), "config": run.config, "owner": None,
            "provenance": {"command": entry["command"],
                           # what the shell script ran, word for word (see its `wqml` and `run` functions)
                           "invocation": f"PYTHONPATH=$PWD nice -n 10 python -m wqml_dash.cli "
                                         f"{entry['command'].removeprefix('wqml ')} --store {args.store} --quiet",
                           "started": entry["started"], "ended": entry["ended"],
                           "wall_seconds": entry["wall_seconds"], "store_run_id": int(run.id)}})
        pts = store.points(int(run.id)).assign(run_id=ref_id)
        points.append(pts)
        if ref_id in with_predictions:
            for seed in sorted(set(pts["seed"])):
                y_true, rows = store.test_set(int(run.id), int(seed))
                arrays[f"R{k}_seed{seed}_y_true"] = y_true
                arrays[f"R{k}_seed{seed}_rows"] = rows.astype(np.int32)
            for p in pts.itertuples(index=False):
                _, y_pred = store.predictions(int(run.id), p.series, int(p.size), int(p.seed))
                arrays[f"R{k}_seed{p.seed}_{p.series}_{p.size}"] = y_pred.astype(np.float32)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "runs.json").write_text(json.dumps({"format": 1, "provenance": shared, "runs": doc_runs}, indent=1) + "\n")
    import pandas as pd

    table = pd.concat(points, ignore_index=True)
    table["finished"] = table["finished"].map(lambda t: t.isoformat())
    table.to_csv(OUT / "points.csv", index=False, float_format="%.17g")
    np.savez_compressed(OUT / "predictions.npz", **arrays)
    sizes = {p.name: p.stat().st_size for p in sorted(OUT.iterdir())}
    print(json.dumps({"runs": len(doc_runs), "points": len(table), "bytes": sizes}, indent=1))


if __name__ == "__main__":
    main()
