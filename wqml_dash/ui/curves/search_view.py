"""A point's hyperparameter search in the point detail: what was chosen, whether it sits at the edge
of the searched range, and the CV error curve it was chosen from."""

from __future__ import annotations

import math

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn

from ...core.learn.cv import EDGE_MEANINGS


def search_text(point: pd.Series, unit: str) -> str:
    """One line of Markdown: sigma (also as a multiple of the median training distance), lambda, the
    CV error, and a warning naming the edge where the optimum sits (`CurvePoint.at_edge`)."""
    factor = point.get("sigma_factor")
    of_median = f" ({factor:.3g} × the median distance)" if factor is not None and math.isfinite(factor) else ""
    cv = point.get("cv_mae")
    cv_text = f" · CV MAE {cv:.3g} ({unit})" if cv is not None and math.isfinite(cv) else ""
    text = f"Chosen by 5-fold CV: σ = {point['sigma']:.4g}{of_median}, λ = {point['lam']:.0e}{cv_text}"
    flag = point.get("at_edge")  # '' inside; None or NaN for points stored before flags were kept
    edges = [e for e in flag.split(",") if e] if isinstance(flag, str) else []
    if edges:
        where = " and ".join(EDGE_MEANINGS.get(e, e) for e in edges)
        text += (f"  \n⚠ **At the edge of the search**: the optimum is {where}; the CV error was still falling "
                 f"there, so a wider grid might do better (on a few hundred molecules, L1 and W1 often prefer an "
                 f"almost flat kernel, where the exact σ hardly matters).")
    return text


def cv_curves(table: pd.DataFrame, sigma: float, lam: float, unit: str, color: str = "#333") -> hv.Overlay:
    """CV MAE against sigma, one line per lambda searched, the chosen (sigma, lambda) ringed.

    Parameters
    ----------
    table : every evaluated (sigma, lam, cv_mae) of the point (`RunStore.cv_table`); inf where a solve failed
    sigma, lam : the chosen pair
    unit : the target's unit, for the axis
    """
    finite = table[np.isfinite(table["cv_mae"])]
    lams = sorted(finite["lam"].unique())
    curves = []
    for i, value in enumerate(lams):
        rows = finite[finite["lam"] == value].sort_values("sigma")
        alpha = 0.35 + 0.65 * (i + 1) / len(lams)
        curves.append(hv.Curve(rows, "sigma", "cv_mae", label=f"λ {value:.0e}").opts(alpha=alpha, line_width=1.5)
                      * hv.Scatter(rows, "sigma", "cv_mae").opts(size=4, alpha=alpha))
    chosen = finite[(finite["sigma"] == sigma) & (finite["lam"] == lam)]
    ring = hv.Scatter(chosen, "sigma", "cv_mae", label="chosen").opts(
        size=14, marker="circle", fill_alpha=0, line_color=color, line_width=3)
    return hv.Overlay([*curves, ring]).opts(
        hv.opts.Curve(logx=True, logy=True), hv.opts.Scatter(logx=True, logy=True),
        hv.opts.Overlay(title="Cross-validation error it was chosen from", xlabel="σ",
                        ylabel=f"CV MAE ({unit})", legend_position="right", height=260, responsive=True,
                        toolbar=None, show_grid=True))


def search_panel(point: pd.Series | None, table: pd.DataFrame | None, unit: str, color: str) -> pn.Column:
    """The search line and, where the run kept it, the CV curve (runs stored before wqml-dash kept
    CV tables, and the shipped reference runs, have the line only)."""
    if point is None:
        return pn.Column()
    parts = [pn.pane.Markdown(search_text(point, unit), margin=(0, 10), css_classes=["wqml-point-search"])]
    if table is not None and len(table) and np.isfinite(table["cv_mae"]).any():
        parts.append(pn.pane.HoloViews(cv_curves(table, point["sigma"], point["lam"], unit, color),
                                       sizing_mode="stretch_width", css_classes=["wqml-cv-plot"]))
    return pn.Column(*parts, sizing_mode="stretch_width")
