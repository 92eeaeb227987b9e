"""Learning-curve results as files: the points as CSV and the runs, curves and points as JSON, as the
app's download buttons give them."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd

from ..core.data.dataset import DEFAULT_TARGET, unit_of
from .reference import is_reference
from .summary import curves_table, run_tag


def run_unit(config: dict) -> str:
    """The unit of a stored run's target (its `RunConfig.to_dict`): the data set's for a data-set run
    ('' where it was not given), QM9's table otherwise (`RunConfig.unit`, read from the dict)."""
    config = config or {}
    data = config.get("data")
    return str(data.get("unit") or "") if data else unit_of(config.get("target", DEFAULT_TARGET))


def run_data_name(config: dict) -> str:
    """'QM9', or the file name of a data-set run's data (`RunConfig.data_name`, read from the dict)."""
    data = (config or {}).get("data")
    return "QM9" if not data else str(data.get("name") or data.get("path"))


def points_csv(points: pd.DataFrame, runs: pd.DataFrame) -> str:
    """Points as CSV: one row per point and seed, with its run's settings and the units in the column names.

    Parameters
    ----------
    points : the store's ``points()`` rows to write, with a ``run`` column naming each run
    runs : the runs' rows (``list_runs()`` and reference runs), for their settings
    """
    pts = points
    buf = io.StringIO()
    if len(pts):
        configs = {int(r.id): r.config for r in runs.itertuples()}
        settings = {key: [_setting(configs.get(int(r), {}), key) for r in pts["run_id"]]
                    for key in _CSV_SETTINGS}
        units = {run_unit(configs.get(int(r), {})) for r in pts["run_id"]}
        unit = (units.pop() or "unit not given") if len(units) == 1 else "target units"
        pts = pts.assign(run_tag=[run_tag(int(r)) for r in pts["run_id"]],
                         data=[run_data_name(configs.get(int(r), {})) for r in pts["run_id"]],
                         reference=[is_reference(int(r)) for r in pts["run_id"]], **settings,
                         finished=pts["finished"].astype(str))
        pts = pts.rename(columns={"lam": "lambda", "mae": f"mae ({unit})", "rmse": f"rmse ({unit})",
                                  "cv_mae": f"cv_mae ({unit})", "fit_seconds": "fit (s)",
                                  "predict_seconds": "predict (s)", "seconds": "total (s)"})
        first = ["run_id", "run_tag", "run", "reference", "data", *_CSV_SETTINGS, "series", "order", "metric", "size",
                 "seed"]
        pts = pts[first + [c for c in pts.columns if c not in first]]
    pts.to_csv(buf, index=False)
    return buf.getvalue()


def curves_json(runs: pd.DataFrame, summary: pd.DataFrame | None, points: pd.DataFrame) -> str:
    """JSON of the runs' settings (and a reference run's provenance), the curves of ``summary``
    (`summary.summarize`: seeds averaged) and every point."""
    shown, pts = runs, points
    doc = {
        "runs": [{"id": int(r.id), "tag": run_tag(int(r.id)), "name": r.name, "status": r.status,
                  "config": r.config, "created": str(r.created),
                  **({"reference": True, "provenance": r.provenance} if is_reference(r.id) else {})}
                 for r in shown.itertuples()],
        "curves": json.loads(curves_table(summary).to_json(orient="records")) if summary is not None
        else [],
        "points": json.loads(pts.rename(columns={"lam": "lambda"}).assign(
            finished=pts["finished"].astype(str)).to_json(orient="records")) if len(pts) else [],
    }
    return json.dumps(doc, indent=1, default=_jsonable)


#: Run settings repeated on every row of the CSV export.
_CSV_SETTINGS = ("representation", "target", "n_test", "folds", "search", "sigma_factors", "lambdas")


def _setting(config: dict, key: str):
    value = config.get(key, "cm" if key == "representation" else None)
    return " ".join(f"{v:g}" for v in value) if isinstance(value, list) else value


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
