"""One learning-curve point in detail: predicted against reference on the test set, and the
distribution of the errors."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd


def parity_plot(y_true: np.ndarray, y_pred: np.ndarray, unit: str = "kcal/mol", *, color: str = "#0072B2",
                title: str = "Predicted vs reference", height: int = 360,
                molecules: np.ndarray | None = None, index_label: str = "QM9 index",
                tappable: bool = True) -> hv.Overlay:
    """Predicted against reference values of the test set, with the diagonal.

    Parameters
    ----------
    y_true, y_pred : (n_test,) reference and predicted values, target units
    unit : for the axis labels
    color : marker colour (the series' colour)
    molecules : (n_test,) the test molecules' numbers in their data set (QM9 indices, or a file's
        frames), shown in the hover; None: the hover numbers them by their position in the test set
    index_label : what ``molecules`` are, for the hover ('QM9 index', 'Frame')
    tappable : whether a click selects a molecule (to open it in the explorer: QM9 molecules only)

    Returns
    -------
    Overlay of the y = x line and a Scatter of the test molecules (hover shows the error).
    """
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    ids = np.arange(y_true.size) if molecules is None else np.asarray(molecules, dtype=np.int64)
    frame = pd.DataFrame({"reference": y_true, "predicted": y_pred, "error": y_pred - y_true, "molecule": ids})
    ref = hv.Dimension("reference", label=f"Reference ({unit})")
    pred = hv.Dimension("predicted", label=f"Predicted ({unit})")
    if y_true.size:
        lo = float(min(y_true.min(), y_pred.min()))
        hi = float(max(y_true.max(), y_pred.max()))
    else:
        lo, hi = 0.0, 1.0
    pad = 0.03 * (hi - lo or 1.0)
    diagonal = hv.Curve([(lo - pad, lo - pad), (hi + pad, hi + pad)], ref, pred, label="y = x").opts(
        color="#555555", line_dash="dashed", line_width=1)
    points = hv.Scatter(frame, ref, [pred, "error", "molecule"]).opts(
        color=color, alpha=0.55, size=5, line_color=None,
        tools=["hover", "tap"] if molecules is not None and tappable else ["hover"],
        nonselection_alpha=0.25, selection_color="black", selection_alpha=1.0,
        hover_tooltips=[(index_label if molecules is not None else "Test molecule", "@molecule"),
                        ("Reference", "@reference{0.00}"),
                        ("Predicted", "@predicted{0.00}"), ("Error", "@error{+0.00}")])
    return (diagonal * points).opts(
        hv.opts.Overlay(title=title, responsive=True, height=height, min_height=280, aspect=None,
                        show_grid=True, show_legend=False, toolbar="above"))


def error_histogram(y_true: np.ndarray, y_pred: np.ndarray, unit: str = "kcal/mol", *, bins: int = 40,
                    color: str = "#0072B2", title: str = "Error distribution", height: int = 360) -> hv.Overlay:
    """Histogram of the signed test errors (predicted - reference) with a line at zero.

    Parameters
    ----------
    y_true, y_pred : (n_test,) target units
    bins : number of bins, symmetric around zero
    """
    err = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    edge = float(np.abs(err).max()) if err.size else 1.0
    edge = edge or 1.0
    counts, edges = np.histogram(err, bins=bins, range=(-edge, edge))
    hist = hv.Histogram((edges, counts), kdims=[hv.Dimension("error", label=f"Predicted - reference ({unit})")],
                        vdims=["Test molecules"]).opts(color=color, line_color="white", alpha=0.8, tools=["hover"])
    zero = hv.VLine(0).opts(color="#555555", line_dash="dashed", line_width=1)
    return (hist * zero).opts(hv.opts.Overlay(title=title, responsive=True, height=height, min_height=280,
                                              show_grid=True, toolbar="above"))
