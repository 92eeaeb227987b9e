"""Seed statistics of stored learning-curve points: one row per (run, series, size), the seeds averaged.

The app's plots and tables and the CSV downloads read this frame; the reference runs' summary is
computed once per process from it.
"""

from __future__ import annotations

import pandas as pd

from ..core.learn.series import Series

#: Columns of `summarize`, one row per (run, series, size).
SUMMARY_COLUMNS = ["run_id", "run", "series", "label", "order", "metric", "size", "mae", "mae_std",
                   "mae_lo", "mae_hi", "rmse", "seeds", "sigma", "lam", "cv_mae", "fit_seconds",
                   "predict_seconds", "seconds"]


def summarize(points: pd.DataFrame, run_names: dict[int, str] | None = None,
              representations: dict[int, str] | None = None) -> pd.DataFrame:
    """Average the seeds of each (run, series, size) for display.

    Parameters
    ----------
    points : the store's ``points()`` frame, one row per (run_id, series, size, seed) with
        mae, rmse (target units), sigma, lam, cv_mae, fit_seconds, predict_seconds, seconds
    run_names : run id -> label shown in legends and hover (default ``'run ID'``)
    representations : run id -> the run's representation ('cm' or 'bob'; default 'cm'), for the
        series' labels ('L1 · sorted CM', 'L1 · BoB')

    Returns
    -------
    DataFrame with `SUMMARY_COLUMNS`, sorted by run, series and size: ``mae`` is the mean over
    seeds, ``mae_std`` their sample standard deviation (0 for one seed), ``mae_lo``/``mae_hi``
    the lowest and highest seed; sigma and lambda are those of the first seed (they are chosen
    per seed by cross-validation), timings are means.
    """
    if points is None or len(points) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("run", "series", "label", "order", "metric")
                                          else float) for c in SUMMARY_COLUMNS})
    names = run_names or {}
    pts = points.sort_values(["run_id", "series", "size", "seed"])
    grouped = pts.groupby(["run_id", "series", "size"], sort=True)
    out = grouped.agg(order=("order", "first"), metric=("metric", "first"), mae=("mae", "mean"),
                      mae_std=("mae", "std"), mae_lo=("mae", "min"), mae_hi=("mae", "max"),
                      rmse=("rmse", "mean"), seeds=("seed", "nunique"), sigma=("sigma", "first"),
                      lam=("lam", "first"), cv_mae=("cv_mae", "mean"), fit_seconds=("fit_seconds", "mean"),
                      predict_seconds=("predict_seconds", "mean"), seconds=("seconds", "mean")).reset_index()
    out["mae_std"] = out["mae_std"].fillna(0.0)
    out["run"] = [names.get(int(r), f"run {int(r)}") for r in out["run_id"]]
    reps = representations or {}
    out["label"] = [Series.parse(s, reps.get(int(r), "cm")).label for r, s in zip(out["run_id"], out["series"],
                                                                                  strict=True)]
    return out[SUMMARY_COLUMNS].reset_index(drop=True)


def run_tag(run_id: int) -> str:
    """Short name of a run in legends: ``'#3'`` for a stored run, ``'R1'`` for reference run -1."""
    return f"R{-int(run_id)}" if run_id < 0 else f"#{int(run_id)}"


def curves_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The displayed curves as a flat table for export: one row per (run, series, size)."""
    cols = ["run_id", "run", "series", "order", "metric", "size", "seeds", "mae", "mae_std", "mae_lo",
            "mae_hi", "rmse", "sigma", "lam", "cv_mae", "fit_seconds", "predict_seconds", "seconds"]
    return summary[cols].rename(columns={"lam": "lambda"}).reset_index(drop=True)
