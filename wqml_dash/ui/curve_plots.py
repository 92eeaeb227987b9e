"""Learning-curve plots: log-log MAE against training size, one line per (run, series).

The functions here take the store's ``points()`` DataFrame (one row per series, size and
seed) and return HoloViews objects; they hold no state and do no science beyond averaging
the seeds for display.
"""

from __future__ import annotations

import holoviews as hv
from bokeh.models import FixedTicker, NumeralTickFormatter
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
#: Markers that tell runs apart when several are overlaid (colours stay per series).
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
             ("sigma", "@sigma{%.4g}"), ("lambda", "@lam{%.1e}"), ("CV MAE", "@cv_mae{0.00}"),
             ("Fit (CV + train)", "@fit_seconds{0.00} s"), ("Predict", "@predict_seconds{0.000} s")]
_FORMATTERS = {"@sigma": "printf", "@lam": "printf"}
_TICKS = [m * 10.0 ** e for e in range(-3, 7) for m in (1, 2, 5)]


def learning_curve_layers(summary: pd.DataFrame | None, unit: str = "kcal/mol") -> tuple[hv.Path, hv.ErrorBars,
                                                                                      hv.Scatter]:
    """The three layers of `learning_curve_plot`, for callers that update them separately.

    Parameters
    ----------
    summary : `summarize` output (already filtered to the runs and series to show), or None
    unit : the target's unit, for the axis label

    Returns
    -------
    (lines, bars, points): a Path with one line per (run, series); ErrorBars with the spread over
    seeds (zero-length for one seed); a Scatter of every point carrying the legend, the hover
    and the tap target. Colours are fixed per series (`SERIES_COLORS`); runs differ by marker.
    The number of layers never changes, so a DynamicMap can update them in place.
    """
    size = hv.Dimension("size", label="Training size")
    mae = hv.Dimension("mae", label=f"MAE ({unit})")
    frame = summary if summary is not None else summarize(None)
    frame = frame.astype({c: object for c in ("run", "series", "label")})
    runs = list(dict.fromkeys(frame["run_id"]))
    marker = {r: RUN_MARKERS[i % len(RUN_MARKERS)] for i, r in enumerate(runs)}
    if len(runs) > 1:
        curve = [f"{run} · {label}" for run, label in zip(frame["run"], frame["label"], strict=True)]
    else:
        curve = list(frame["label"])
    frame = frame.assign(curve=pd.Series(curve, index=frame.index, dtype=object),
                         series_color=pd.Series([series_color(s) for s in frame["series"]], index=frame.index,
                                                dtype=object),
                         marker=pd.Series([marker[r] for r in frame["run_id"]], index=frame.index, dtype=object),
                         neg=np.minimum(frame["mae_std"], 0.95 * frame["mae"]))
    cmap = dict(zip(frame["curve"], frame["series_color"], strict=True))
    if len(frame):
        paths = [g[["size", "mae", "curve"]] for _, g in frame.groupby(["run_id", "series"], sort=False)]
    else:  # an empty Path cannot map colours: one invisible point instead
        paths = [pd.DataFrame({"size": [np.nan], "mae": [np.nan], "curve": [""]})]
        cmap[""] = "#ffffff"
    # Fixed 1-2-5 ticks per decade, labelled as plain numbers (Bokeh's log ticker labels only
    # decades, and less than two decades get none); fixed, as a live plot cannot change its ticker.
    common = dict(logx=True, logy=True, framewise=True, xticks=FixedTicker(ticks=_TICKS),
                  yticks=FixedTicker(ticks=_TICKS), xformatter=NumeralTickFormatter(format="0,0"),
                  yformatter=NumeralTickFormatter(format="0,0.[00]"))
    lines = hv.Path(paths, [size, mae], ["curve"]).opts(color="curve", cmap=cmap, line_width=2,
                                                         show_legend=False, nonselection_alpha=1.0, **common)
    bars = hv.ErrorBars(frame, size, [mae, "neg", "mae_std", "series_color"]).opts(
        color="series_color", line_width=1.5, lower_head=None, upper_head=None, **common)
    vdims = [mae] + [c for c in frame.columns if c not in ("size", "mae")]
    points = hv.Scatter(frame, size, vdims).opts(
        color="curve", cmap=cmap, marker="marker", size=9, line_color="white", tools=["hover", "tap"],
        hover_tooltips=_TOOLTIPS, hover_formatters=_FORMATTERS, nonselection_alpha=0.35,
        selection_line_color="black",
        selection_line_width=2, show_legend=True, **common)
    return lines, bars, points


def overlay_options(height: int = 420, title: str = "Learning curves") -> hv.opts:
    """Options of the learning-curve overlay (log-log, legend, toolbar with the PNG save tool)."""
    return hv.opts.Overlay(logx=True, logy=True, responsive=True, height=height, min_height=300, show_grid=True,
                           legend_position="bottom_left", title=title, toolbar="above")


def learning_curve_plot(summary: pd.DataFrame | None, unit: str = "kcal/mol", *, height: int = 420,
                        title: str = "Learning curves") -> hv.Overlay:
    """Log-log MAE against training-set size for every (run, series) in ``summary``.

    Parameters
    ----------
    summary : `summarize` output (already filtered to the runs and series to show)
    unit : the target's unit, for the axis label
    height : plot height in pixels (the width follows the page)

    Returns
    -------
    Overlay of `learning_curve_layers`: lines, error bars (spread over seeds), points.
    """
    lines, bars, points = learning_curve_layers(summary, unit)
    if summary is None or len(summary) == 0:
        title = f"{title}: no finished points yet"
    return (lines * bars * points).opts(overlay_options(height, title))


def curves_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The displayed curves as a flat table for export: one row per (run, series, size)."""
    cols = ["run_id", "run", "series", "order", "metric", "size", "seeds", "mae", "mae_std", "mae_lo",
            "mae_hi", "rmse", "sigma", "lam", "cv_mae", "fit_seconds", "predict_seconds", "seconds"]
    return summary[cols].rename(columns={"lam": "lambda"}).reset_index(drop=True)
