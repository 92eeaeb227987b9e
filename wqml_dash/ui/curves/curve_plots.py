"""Learning-curve plots: log-log MAE against training size, one line per (run, series).

The functions here take `wqml_dash.runs.summary.summarize`'s frame (the seeds of each run, series
and size averaged) and return HoloViews objects; they hold no state and do no science.
"""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
from bokeh.models import FixedTicker, NumeralTickFormatter

from ...runs.summary import run_tag, summarize


#: One colour per series, the same in every plot and run (colour-blind safe, Okabe-Ito based).
SERIES_COLORS: dict[str, str] = {
    "random:l1": "#E69F00", "sorted:l1": "#D55E00", "unsorted:l1": "#8C510A",
    "random:l2": "#56B4E9", "sorted:l2": "#0072B2", "unsorted:l2": "#1B3F66",
    "sorted:w1": "#009E73", "random:w1": "#5DB88F", "unsorted:w1": "#1D6B4F",
}
#: Line dashes, one Path layer each (Bokeh cannot vary the dash within one multi-line glyph).
DASHES = ("solid", "dashed", "dotted", "dotdash", "dashdot")
#: How runs are told apart when several are overlaid (colours stay per series): precomputed
#: reference runs (negative ids) draw solid lines with filled markers; the user's runs cycle
#: through dashed lines with hollow markers, each drawn a little to the side (``offset``, in
#: decades of training size) so that identical points of two runs never hide each other.
REFERENCE_STYLES = ({"dash": "solid", "marker": "circle", "offset": 0.0},
                    {"dash": "solid", "marker": "diamond", "offset": 0.012},
                    {"dash": "solid", "marker": "hex", "offset": -0.012})
RUN_STYLES = ({"dash": "dashed", "marker": "square", "offset": 0.006},
              {"dash": "dotted", "marker": "triangle", "offset": -0.006},
              {"dash": "dotdash", "marker": "inverted_triangle", "offset": 0.018},
              {"dash": "dashdot", "marker": "star", "offset": -0.018})
#: Glyph names for people (the run key under the plot).
MARKER_SYMBOLS = {"circle": "●", "diamond": "◆", "hex": "⬢", "square": "□", "triangle": "△",
                  "inverted_triangle": "▽", "star": "☆"}

def run_style(run_id: int) -> dict:
    """Line dash, marker, fill and sideways offset of a run, the same wherever it is shown.

    Returns
    -------
    dict with dash (Bokeh dash name), marker (Bokeh marker), filled (bool) and offset (decades
    of training size the run's points are drawn to the side; hover shows the true size)
    """
    if run_id < 0:
        return {**REFERENCE_STYLES[(-int(run_id) - 1) % len(REFERENCE_STYLES)], "filled": True}
    return {**RUN_STYLES[(int(run_id) - 1) % len(RUN_STYLES)], "filled": False}


def run_key(runs: dict[int, str]) -> str:
    """Markdown naming each run's style, e.g. ``'R1 ── ● Paper Fig. 3 · #3 - - □ my run'``."""
    dash_text = {"solid": "──", "dashed": "- -", "dotted": "···", "dotdash": "·-·", "dashdot": "-·-"}
    parts = []
    for run_id, name in runs.items():
        style = run_style(run_id)
        parts.append(f"**{run_tag(run_id)}** {dash_text[style['dash']]} {MARKER_SYMBOLS[style['marker']]} {name}")
    return " · ".join(parts)


def series_color(series: str) -> str:
    return SERIES_COLORS.get(series, "#777777")


_TOOLTIPS = [("Run", "@run"), ("Series", "@label"), ("Training size", "@size"),
             ("MAE", "@mae{0.00} ± @mae_std{0.00} (@seeds seeds)"), ("RMSE", "@rmse{0.00}"),
             ("sigma", "@sigma{%.4g}"), ("lambda", "@lam{%.1e}"), ("CV MAE", "@cv_mae{0.00}"),
             ("Fit (CV + train)", "@fit_seconds{0.00} s"), ("Predict", "@predict_seconds{0.000} s")]
# HoloViews writes the fields as @{name}: the formatters must use the same spelling, or Bokeh
# falls back to its numeral format, which reads '%.4g' as a percentage ('sigma: .41%').
_FORMATTERS = {"@{sigma}": "printf", "@{lam}": "printf"}
_TICKS = [m * 10.0 ** e for e in range(-3, 7) for m in (1, 2, 5)]


def _styled(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the columns that draw it: curve (legend label), series_color, dash, marker,
    fill_alpha, x (training size moved by the run's offset) and neg (lower error bar)."""
    runs = list(dict.fromkeys(frame["run_id"]))
    styles = {r: run_style(int(r)) for r in runs}
    if len(runs) > 1:
        curve = [f"{run_tag(int(r))} · {label}" for r, label in zip(frame["run_id"], frame["label"], strict=True)]
    else:
        curve = list(frame["label"])

    def column(values):
        return pd.Series(list(values), index=frame.index, dtype=object)

    return frame.assign(
        curve=column(curve),
        series_color=column(series_color(s) for s in frame["series"]),
        dash=column(styles[r]["dash"] for r in frame["run_id"]),
        marker=column(styles[r]["marker"] for r in frame["run_id"]),
        fill_alpha=[1.0 if styles[r]["filled"] else 0.0 for r in frame["run_id"]],
        x=frame["size"] * 10.0 ** np.array([styles[r]["offset"] for r in frame["run_id"]], dtype=float),
        neg=np.minimum(frame["mae_std"], 0.95 * frame["mae"]))


def learning_curve_layers(summary: pd.DataFrame | None, unit: str = "kcal/mol") -> tuple[hv.Overlay, hv.ErrorBars,
                                                                                      hv.Scatter]:
    """The layers of `learning_curve_plot`, for callers that update them separately.

    Parameters
    ----------
    summary : `summarize` output (already filtered to the runs and series to show), or None
    unit : the target's unit, for the axis label

    Returns
    -------
    (lines, bars, points): an Overlay of one Path per entry of `DASHES`, each with the lines of the
    runs drawn in that dash (one line per run and series); ErrorBars with the spread over seeds
    (zero-length for one seed); a Scatter of every point carrying the legend, the hover and the tap
    target. Colours are fixed per series (`SERIES_COLORS`); runs differ by dash, marker, fill and
    a small sideways offset (`run_style`). The number of layers never changes, so a DynamicMap can
    update them in place.
    """
    size = hv.Dimension("x", label="Training size")
    mae = hv.Dimension("mae", label=f"MAE ({unit})")
    frame = summary if summary is not None else summarize(None)
    frame = _styled(frame.astype({c: object for c in ("run", "series", "label")}))
    cmap = dict(zip(frame["curve"], frame["series_color"], strict=True))
    cmap[""] = "#ffffff"  # the invisible point of an empty layer
    # Fixed 1-2-5 ticks per decade, labelled as plain numbers (Bokeh's log ticker labels only
    # decades, and less than two decades get none); fixed, as a live plot cannot change its ticker.
    common = dict(logx=True, logy=True, framewise=True, xticks=FixedTicker(ticks=_TICKS),
                  yticks=FixedTicker(ticks=_TICKS), xformatter=NumeralTickFormatter(format="0,0"),
                  yformatter=NumeralTickFormatter(format="0,0.[00]"))
    empty = [pd.DataFrame({"x": [np.nan], "mae": [np.nan], "curve": [""]})]  # an empty Path cannot map colours
    layers = []
    for dash in DASHES:
        of_dash = frame[frame["dash"] == dash]
        paths = [g[["x", "mae", "curve"]] for _, g in of_dash.groupby(["run_id", "series"], sort=False)]
        layers.append(hv.Path(paths or empty, [size, mae], ["curve"]).opts(
            color="curve", cmap=cmap, line_width=2, line_dash=dash, show_legend=False, nonselection_alpha=1.0,
            **common))
    lines = hv.Overlay(layers)
    bars = hv.ErrorBars(frame, size, [mae, "neg", "mae_std", "series_color"]).opts(
        color="series_color", line_width=1.5, lower_head=None, upper_head=None, **common)
    vdims = [mae] + [c for c in frame.columns if c not in ("x", "mae")]
    points = hv.Scatter(frame, size, vdims).opts(
        color="curve", cmap=cmap, marker="marker", fill_alpha="fill_alpha", size=9, line_width=1.5,
        tools=["hover", "tap"], hover_tooltips=_TOOLTIPS, hover_formatters=_FORMATTERS, nonselection_alpha=0.35,
        selection_line_color="black", selection_line_width=2, show_legend=True, **common)
    return lines, bars, points


def overlay_options(height: int = 440, title: str = "Learning curves") -> hv.opts:
    """Options of the learning-curve overlay (log-log, legend beside the plot, toolbar with the save tool)."""
    return hv.opts.Overlay(logx=True, logy=True, responsive=True, height=height, min_height=300, show_grid=True,
                           legend_position="right", title=title, toolbar="above")


def learning_curve_plot(summary: pd.DataFrame | None, unit: str = "kcal/mol", *, height: int = 440,
                        title: str = "Learning curves") -> hv.Overlay:
    """Log-log MAE against training-set size for every (run, series) in ``summary``.

    Parameters
    ----------
    summary : `summarize` output (already filtered to the runs and series to show)
    unit : the target's unit, for the axis label
    height : plot height in pixels (the width follows the page)

    Returns
    -------
    Overlay of `learning_curve_layers`: lines (one Path per dash), error bars (spread over seeds),
    points.
    """
    lines, bars, points = learning_curve_layers(summary, unit)
    if summary is None or len(summary) == 0:
        title = f"{title}: no finished points yet"
    return (lines * bars * points).opts(overlay_options(height, title))
