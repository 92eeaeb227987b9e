"""Learning-curve plots: log-log MAE against training size, one line per (run, series).

The functions here take the store's ``points()`` DataFrame (one row per series, size and
seed) and return HoloViews objects; they hold no state and do no science beyond averaging
the seeds for display.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd

from ..core.metrics import METRICS
from ..core.representations import ORDERS

#: One colour per series, the same in every plot and run (colour-blind safe, Okabe-Ito based).
SERIES_COLORS: dict[str, str] = {
    "random:l1": "#E69F00", "sorted:l1": "#D55E00", "unsorted:l1": "#8C510A",
    "random:l2": "#56B4E9", "sorted:l2": "#0072B2", "unsorted:l2": "#1B3F66",
    "sorted:w1": "#009E73", "random:w1": "#5DB88F", "unsorted:w1": "#1D6B4F",
}
#: Line styles that tell runs apart when several are overlaid (colours stay per series).
RUN_DASHES = ("solid", "dashed", "dotted", "dotdash", "dashdot")
RUN_MARKERS = ("circle", "square", "triangle", "diamond", "inverted_triangle")

#: Columns of `summarize`, one row per (run, series, size).
SUMMARY_COLUMNS = ["run_id", "run", "series", "label", "order", "metric", "size", "mae", "mae_std",
                   "mae_lo", "mae_hi", "rmse", "seeds", "sigma", "lam", "cv_mae", "fit_seconds",
                   "predict_seconds", "seconds"]


def series_label(series: str) -> str:
    """``'sorted:l1'`` -> ``'L1 · sorted'`` (W1 ignores the atom order, but the key is kept)."""
    order, _, metric = series.partition(":")
    return f"{metric.upper()} · {order}"


def series_color(series: str) -> str:
    return SERIES_COLORS.get(series, "#777777")


def series_choices() -> dict[str, str]:
    """Every ORDER:METRIC series, labelled for people: label -> key."""
    return {series_label(f"{o}:{m}"): f"{o}:{m}" for m in METRICS for o in ORDERS}


def summarize(points: pd.DataFrame, run_names: dict[int, str] | None = None) -> pd.DataFrame:
    """Average the seeds of each (run, series, size) for display.

    Parameters
    ----------
    points : the store's ``points()`` frame, one row per (run_id, series, size, seed) with
        mae, rmse (target units), sigma, lam, cv_mae, fit_seconds, predict_seconds, seconds
    run_names : run id -> label shown in legends and hover (default ``'run ID'``)

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
    out["label"] = [series_label(s) for s in out["series"]]
    return out[SUMMARY_COLUMNS].reset_index(drop=True)


_TOOLTIPS = [("Run", "@run"), ("Series", "@label"), ("Training size", "@size"),
             ("MAE", "@mae{0.00} ± @mae_std{0.00} (@seeds seeds)"), ("RMSE", "@rmse{0.00}"),
             ("sigma", "@sigma{0.000e}"), ("lambda", "@lam{0.0e}"), ("CV MAE", "@cv_mae{0.00}"),
             ("Fit (CV + train)", "@fit_seconds{0.00} s"), ("Predict", "@predict_seconds{0.000} s")]


def learning_curve_plot(summary: pd.DataFrame, unit: str = "kcal/mol", *, height: int = 420,
                        title: str = "Learning curves") -> hv.Overlay:
    """Log-log MAE against training-set size for every (run, series) in ``summary``.

    Parameters
    ----------
    summary : `summarize` output (already filtered to the runs and series to show)
    unit : the target's unit, for the axis label
    height : plot height in pixels (the width follows the page)

    Returns
    -------
    Overlay of one Curve per (run, series) with markers (a Scatter of all points, the one to
    tap), and ErrorBars where several seeds give a spread. Colours are fixed per series
    (`SERIES_COLORS`); runs differ by line dash and marker.
    """
    kdims = [hv.Dimension("size", label="Training size")]
    vdim = hv.Dimension("mae", label=f"MAE ({unit})")
    if summary is None or len(summary) == 0:
        return hv.Overlay([hv.Curve([], kdims, vdim).opts(logx=True, logy=True)]).opts(
            responsive=True, height=height, title=f"{title}: no finished points yet",
            show_grid=True)
    runs = list(dict.fromkeys(summary["run_id"]))
    dash = {r: RUN_DASHES[i % len(RUN_DASHES)] for i, r in enumerate(runs)}
    marker = {r: RUN_MARKERS[i % len(RUN_MARKERS)] for i, r in enumerate(runs)}
    several_runs = len(runs) > 1
    layers = []
    for (run_id, series), group in summary.groupby(["run_id", "series"], sort=False):
        label = f"{group['run'].iloc[0]} · {series_label(series)}" if several_runs else series_label(series)
        layers.append(hv.Curve(group, kdims, vdim, label=label).opts(
            color=series_color(series), line_dash=dash[run_id], line_width=2))
        spread = group[group["seeds"] > 1]
        if len(spread):
            lo = np.minimum(spread["mae_std"], 0.95 * spread["mae"])  # keep the lower bar on a log axis
            bars = pd.DataFrame({"size": spread["size"], "mae": spread["mae"], "neg": lo,
                                 "pos": spread["mae_std"]})
            layers.append(hv.ErrorBars(bars, kdims, [vdim, "neg", "pos"]).opts(
                color=series_color(series), line_width=1.5, lower_head=None, upper_head=None))
    points = summary.assign(color=[series_color(s) for s in summary["series"]],
                            marker=[marker[r] for r in summary["run_id"]])
    vdims = [vdim] + [c for c in points.columns if c not in ("size", "mae")]
    scatter = hv.Scatter(points, kdims, vdims, group="Points").opts(
        color="color", marker="marker", size=9, line_color="white", tools=["hover", "tap"],
        hover_tooltips=_TOOLTIPS, nonselection_alpha=0.35, selection_line_color="black",
        selection_line_width=2, show_legend=False)
    layers.append(scatter)
    return hv.Overlay(layers).opts(
        hv.opts.Overlay(logx=True, logy=True, responsive=True, height=height, show_grid=True,
                        legend_position="top_right", title=title, toolbar="above",
                        min_height=300),
    )


def curves_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The displayed curves as a flat table for export: one row per (run, series, size)."""
    cols = ["run_id", "run", "series", "order", "metric", "size", "seeds", "mae", "mae_std", "mae_lo",
            "mae_hi", "rmse", "sigma", "lam", "cv_mae", "fit_seconds", "predict_seconds", "seconds"]
    return summary[cols].rename(columns={"lam": "lambda"}).reset_index(drop=True)
