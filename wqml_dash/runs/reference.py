"""Reference learning curves: runs computed once with wqml-dash and shipped with it as package data.

The paper's Fig. 3 protocol takes minutes to compute (549 s on two cores for seed 0 up to
10,000 molecules); a class cannot wait for it. These runs were computed with `wqml
learning-curve` (``benchmarks/reference_curves.sh``) and turned into the files of
``wqml_dash/runs/reference_data/`` by ``benchmarks/reference_curves.py``:

- ``runs.json``: every reference run with its settings (`RunConfig.to_dict`) and provenance
  (wqml-dash version and commit, command, machine, date, wall time);
- ``points.csv``: their points, the columns of `RunStore.points`;
- ``predictions.npz``: the test-set predictions of the runs that ship them (for parity plots).

Reference runs have negative ids (-1 is R1), so they never collide with a store's runs, and they
are read-only. Everything is read once per process and cached: treat the frames as read-only.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import numpy as np
import pandas as pd

from .store import POINT_COLUMNS, RUN_COLUMNS

#: The package-data folder (inside ``wqml_dash/runs``).
DATA_FOLDER = "reference_data"
#: The reference run a page shows first: the paper's Fig. 3 with seed 0.
DEFAULT_REFERENCE = -1


def _data_file(name: str):
    return resources.files(__package__).joinpath(DATA_FOLDER, name)


def is_reference(run_id: int) -> bool:
    """Whether ``run_id`` names a reference run (negative ids)."""
    return int(run_id) < 0


@functools.cache
def _document() -> dict:
    return json.loads(_data_file("runs.json").read_text(encoding="utf-8"))


def reference_provenance() -> dict:
    """How the reference runs were made: the shared part (package version, commit, machine, ...)."""
    return dict(_document()["provenance"])


@functools.cache
def reference_runs() -> pd.DataFrame:
    """Every reference run, as `RunStore.list_runs` lists a store's runs, plus ``provenance`` (dict).

    Returns
    -------
    DataFrame with columns id (negative), name, status ('finished'), created, started, finished
    (UTC timestamps), error, n_done, n_total, config (dict), owner, provenance (dict)
    """
    rows = []
    for run in _document()["runs"]:
        rows.append({**{c: run.get(c) for c in RUN_COLUMNS}, "provenance": run["provenance"]})
    df = pd.DataFrame(rows, columns=[*RUN_COLUMNS, "provenance"])
    for col in ("created", "started", "finished"):
        df[col] = pd.to_datetime(df[col], utc=True, format="ISO8601")
    for col in ("id", "n_done", "n_total"):
        df[col] = df[col].astype("int64")
    return df


def reference_run(run_id: int) -> dict:
    """One reference run as a dict (the fields of a `reference_runs` row). KeyError if there is none."""
    runs = reference_runs()
    match = runs[runs["id"] == int(run_id)]
    if match.empty:
        known = ", ".join(f"R{-i}" for i in runs["id"])
        raise KeyError(f"no reference run R{-int(run_id)} (there are {known})")
    return match.iloc[0].to_dict()


@functools.cache
def _all_points() -> pd.DataFrame:
    df = pd.read_csv(_data_file("points.csv").open("r", encoding="utf-8"))
    df = df[list(POINT_COLUMNS)]
    df["finished"] = pd.to_datetime(df["finished"], utc=True, format="ISO8601")
    for col in ("run_id", "size", "seed"):
        df[col] = df[col].astype("int64")
    for col in POINT_COLUMNS[6:14]:
        df[col] = df[col].astype("float64")
    return df.sort_values(["run_id", "seed", "series", "size"], ascending=[False, True, True, True],
                          ignore_index=True)


def reference_points(run_ids=None) -> pd.DataFrame:
    """Points of some reference runs (all if None), with the columns of `RunStore.points`."""
    df = _all_points()
    if run_ids is None:
        return df
    ids = [int(run_ids)] if isinstance(run_ids, int | np.integer) else [int(i) for i in run_ids]
    return df[df["run_id"].isin(ids)].reset_index(drop=True)


@functools.cache
def _predictions() -> dict[str, np.ndarray]:
    with _data_file("predictions.npz").open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def reference_test_set(run_id: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true (n_test,), QM9 indices (n_test,))`` of a reference run's seed. KeyError if not shipped."""
    arrays = _predictions()
    key = f"R{-int(run_id)}_seed{int(seed)}"
    if f"{key}_y_true" not in arrays:
        raise KeyError(f"no test set shipped for reference run R{-int(run_id)}, seed {seed}")
    return arrays[f"{key}_y_true"].astype(np.float64), arrays[f"{key}_rows"].astype(np.int64)


def reference_predictions(run_id: int, series: str, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(y_true, y_pred)``, each (n_test,), of one reference point, as `RunStore.predictions`.

    Raises
    ------
    KeyError
        if that point's predictions are not shipped (only some runs ship them).
    """
    arrays = _predictions()
    key = f"R{-int(run_id)}_seed{int(seed)}_{series}_{int(size)}"
    if key not in arrays:
        raise KeyError(f"no predictions shipped for reference run R{-int(run_id)}, {series}, size {size}, "
                       f"seed {seed}")
    y_true, _ = reference_test_set(run_id, seed)
    return y_true, arrays[key].astype(np.float64)
