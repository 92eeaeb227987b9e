"""Learning-curve results as files: the points as CSV and the runs, curves and points as JSON, as the
app's download buttons and ``wqml runs export`` give them.

One vocabulary for every file a user gets: the names of ``wqml learning-curve --json`` (`PUBLIC_NAMES`
renames the store's ``size`` and ``lam``), the target and its unit in columns and fields of their
own (never in a column's name), and the wqml-dash version in every JSON.
"""

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


#: Store column -> the name every exported file uses (`CurvePoint.to_json`'s).
PUBLIC_NAMES = {"size": "n_train", "lam": "lambda"}


def public_points(points: pd.DataFrame, configs: dict[int, dict]) -> pd.DataFrame:
    """Stored points in the public vocabulary, with each run's ``target`` and ``unit`` beside them.

    Parameters
    ----------
    points : the store's ``points()`` rows (``run_id``, ``size``, ``lam``, ...)
    configs : run id -> its `RunConfig.to_dict`
    """
    pts = points.rename(columns=PUBLIC_NAMES)
    if len(pts) and "run_id" in pts:
        cfg = [configs.get(int(r), {}) or {} for r in pts["run_id"]]
        pts = pts.assign(target=[c.get("target", DEFAULT_TARGET) for c in cfg], unit=[run_unit(c) for c in cfg])
    if "finished" in pts:
        pts = pts.assign(finished=pts["finished"].astype(str))
    return pts


def run_data_name(config: dict) -> str:
    """'QM9', or the file name of a data-set run's data (`RunConfig.data_name`, read from the dict)."""
    data = (config or {}).get("data")
    return "QM9" if not data else str(data.get("name") or data.get("path"))


def points_csv(points: pd.DataFrame, runs: pd.DataFrame) -> str:
    """Points as CSV: one row per point and seed, with its run's settings, data set, target and unit.

    Parameters
    ----------
    points : the store's ``points()`` rows to write, with a ``run`` column naming each run
    runs : the runs' rows (``list_runs()`` and reference runs), for their settings
    """
    buf = io.StringIO()
    configs = {int(r.id): r.config for r in runs.itertuples()}
    pts = public_points(points, configs)
    if len(pts):
        settings = {key: [_setting(configs.get(int(r), {}), key) for r in pts["run_id"]]
                    for key in _CSV_SETTINGS if key != "target"}
        pts = pts.assign(run_tag=[run_tag(int(r)) for r in pts["run_id"]],
                         data=[run_data_name(configs.get(int(r), {})) for r in pts["run_id"]],
                         reference=[is_reference(int(r)) for r in pts["run_id"]], **settings)
        first = ["run_id", "run_tag", "run", "reference", "data", "target", "unit",
                 *[k for k in _CSV_SETTINGS if k != "target"], "series", "order", "metric", "n_train", "seed"]
        pts = pts[[c for c in first if c in pts] + [c for c in pts.columns if c not in first]]
    pts.to_csv(buf, index=False)
    return buf.getvalue()


def curves_json(runs: pd.DataFrame, summary: pd.DataFrame | None, points: pd.DataFrame) -> str:
    """JSON of the runs' settings, data set, target and unit (and a reference run's provenance), the
    curves of ``summary`` (`summary.summarize`: seeds averaged) and every point, in `PUBLIC_NAMES`."""
    from .. import __version__

    configs = {int(r.id): r.config for r in runs.itertuples()}
    doc = {
        "wqml_dash_version": __version__,
        "runs": [{"id": int(r.id), "tag": run_tag(int(r.id)), "name": r.name, "status": r.status,
                  "data": run_data_name(r.config), "target": (r.config or {}).get("target", DEFAULT_TARGET),
                  "unit": run_unit(r.config), "config": r.config, "created": str(r.created),
                  **({"reference": True, "provenance": r.provenance} if is_reference(r.id) else {})}
                 for r in runs.itertuples()],
        "curves": json.loads(public_points(curves_table(summary), configs).to_json(orient="records"))
        if summary is not None else [],
        "points": json.loads(public_points(points, configs).to_json(orient="records")) if len(points) else [],
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
