"""The displacement explorer's energy plot, a Bokeh figure updated in place.

The plot keeps its ``ColumnDataSource`` objects for its whole life: a new scan result replaces
their columns, a move of d changes only the span and a handful of markers. Nothing is rebuilt, so
the browser keeps zoom, legends and toolbar. The sorted CM and its CDFs are drawn by the browser
(`cm_views`).

The plot takes plain arrays: the numbers come from ``wqml_dash.core`` (see
``displacement_explorer.py``); this module only draws them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
from bokeh.core.properties import value
from bokeh.events import Tap
from bokeh.models import ColumnDataSource, GlyphRenderer, HoverTool, Legend, LegendItem, Range1d, Span
from bokeh.plotting import figure

from ...core.scan.models import MODEL_LABELS

#: One colour and dash per series, shared by every view (Okabe-Ito, colour-blind safe).
STYLE: dict[str, dict] = {
    "reference": {"color": "#222222", "dash": "solid", "width": 2.5},
    "l1_sorted": {"color": "#d55e00", "dash": "solid", "width": 2.5},
    "w1": {"color": "#0072b2", "dash": "solid", "width": 3.0},
    "l1_unsorted": {"color": "#999933", "dash": "solid", "width": 2.0},
    "l1_random": {"color": "#cc79a7", "dash": "solid", "width": 2.0},
    "l2_sorted": {"color": "#009e73", "dash": "solid", "width": 2.0},
    "l1_sorted_large": {"color": "#8c2d04", "dash": "dashed", "width": 2.0},
}
#: Human names of the series, for legends, readouts and help (the models' from core).
LABELS: dict[str, str] = {"reference": "Reference", **MODEL_LABELS}
MOVING = "#f28e00"   # the moving atom and its axis, in the 3D view and the heatmap
SERIES = tuple(STYLE)
#: Series the energy plot draws from the start; the others when first shown (`ScanPlot._add_series`).
ALWAYS_DRAWN = ("reference", "l1_sorted", "w1")
_FONT = "13pt"


def _style_axes(fig) -> None:
    fig.title.text_font_size = "13pt"
    for axis in (fig.xaxis, fig.yaxis):
        axis.axis_label_text_font_size = _FONT
        axis.major_label_text_font_size = "11pt"
        axis.axis_label_text_font_style = "normal"
    fig.toolbar.logo = None
    fig.background_fill_color = "#fbfcfd"
    fig.grid.grid_line_color = "#e3e7ed"


def _lean(fig) -> None:
    """Let the browser derive each renderer's faded (non-selected) and muted look.

    Bokeh's ``figure`` makes both as models of their own: two of every three glyph models on the
    page, which every new session builds, walks and serialises. Nothing here is selected or muted
    (legend clicks hide), and "auto" draws the same faded look in the browser.
    """
    for renderer in fig.renderers:
        if isinstance(renderer, GlyphRenderer):
            _auto_look(renderer)


def _auto_look(renderer: GlyphRenderer) -> None:
    """One renderer's faded and muted look left to the browser (see `_lean`)."""
    renderer.update(nonselection_glyph="auto", muted_glyph="auto")


#: Font sizes (title, axis labels, tick labels, legend) in normal and in presentation mode.
FONTS = {False: ("13pt", "13pt", "11pt", "11pt"), True: ("16pt", "17pt", "15pt", "13pt")}
#: Line widths and marker sizes grow by this factor in presentation mode.
PRESENTATION_SCALE = 1.8


def present(fig, on: bool) -> None:
    """Presentation mode for one figure: larger title, axis and legend fonts (property changes only)."""
    title, label, ticks, legend = FONTS[bool(on)]
    fig.title.text_font_size = title
    for axis in (*fig.xaxis, *fig.yaxis):
        axis.axis_label_text_font_size = label
        axis.major_label_text_font_size = ticks
    for item in fig.legend:
        item.label_text_font_size = legend


class ScanPlot:
    """Reference and model curves along the scan, training points, swap and tie points and the current d.

    Parameters
    ----------
    on_tap : called with the clicked x (in the plot's display units) when the user clicks the plot
    """

    def __init__(self, on_tap: Callable[[float], None] | None = None, height: int = 360):
        self.curves = ColumnDataSource({"x": [], **{k: [] for k in SERIES}})
        self.train = ColumnDataSource({"x": [], "y": []})
        self.train_large = ColumnDataSource({"x": [], "y": []})
        self.swaps = ColumnDataSource({"x": []})
        self.ties = ColumnDataSource({"x": []})
        self.invalid = ColumnDataSource({"x0": [], "x1": []})
        self.marker = ColumnDataSource({"x": [], "y": [], "color": [], "series": []})
        # Explicit ranges, framed by the server for each scan (`frame`), not Bokeh's DataRange1d: in the
        # browser a DataRange1d keeps the data bounds of every view that ever drew the figure (Bokeh
        # 3.9: ``_plot_bounds`` is keyed by plot view and never pruned), so once the figure had been
        # re-drawn (its tab hidden and shown again) the old molecule's energies stayed in the range for
        # good and the toolbar's reset framed them too; reset_start/reset_end make reset frame this scan.
        self.x_range = Range1d(-1.0, 1.0)
        self.y_range = Range1d(0.0, 1.0)
        fig = figure(height=height, sizing_mode="stretch_width", tools="pan,wheel_zoom,box_zoom,reset,save",
                     x_range=self.x_range, y_range=self.y_range,
                     active_scroll=None, toolbar_location="right", x_axis_label="Displacement d (Å)",
                     y_axis_label="Energy (kcal/mol)", title="Energy along the scan", css_classes=["wqml-scan-plot"],
                     output_backend="canvas")
        _style_axes(fig)
        fig.vstrip(x0="x0", x1="x1", source=self.invalid, fill_color="#c0392b", fill_alpha=0.10,
                   line_color=None)
        swap = fig.vspan(x="x", source=self.swaps, line_color="#6b7685", line_dash="dashed", line_width=1.5)
        tie = fig.vspan(x="x", source=self.ties, line_color="#7b3294", line_dash="dotted", line_width=2.5)
        self.figure = fig
        self._presentation = False
        self.lines: dict[str, GlyphRenderer] = {}
        for key in ALWAYS_DRAWN:
            self.lines[key] = self._line(key, visible=key == "reference")
        train = fig.scatter("x", "y", source=self.train, size=11, fill_color="white", line_color="#222222",
                            line_width=2)
        self.train_large_renderer: GlyphRenderer | None = None  # with the large training set's series
        self.d_line = Span(location=0, dimension="height", line_color=MOVING, line_width=2.5, line_alpha=0.9)
        fig.add_layout(self.d_line)
        dots = fig.scatter("x", "y", source=self.marker, size=12, color="color", line_color="white",
                           line_width=1.5)
        fig.add_tools(HoverTool(renderers=[dots], tooltips=[("", "@series"), ("E", "@y{0.00}")]))
        # The legend entries of the series drawn from the start exist from the start and are only shown
        # or relabelled later; an optional series adds its own the first time it is shown (one more
        # walk of the session's models, about 0.2 s, when a user first asks for it).
        self.legend_items = {k: LegendItem(label=value(LABELS[k]), renderers=[r], visible=k == "reference")
                             for k, r in self.lines.items()}
        self.legend_items["train"] = LegendItem(label=value("training points"), renderers=[train])
        self.legend_items["swap"] = LegendItem(label=value("swap points"), renderers=[swap], visible=False)
        self.legend_items["tie"] = LegendItem(label=value("tie: one-point spike"), renderers=[tie], visible=False)
        self.legend = Legend(items=list(self.legend_items.values()), location="top_center", click_policy="hide",
                             label_text_font_size="11pt", background_fill_alpha=0.85, spacing=0, padding=6)
        fig.add_layout(self.legend)
        self._height = height
        self._train_renderer, self._dots, self._swap_renderer, self._tie_renderer = train, dots, swap, tie
        _lean(fig)
        self._on_tap = on_tap
        fig.on_event(Tap, self._tap)

    def _line(self, key: str, visible: bool) -> GlyphRenderer:
        s = STYLE[key]
        f = PRESENTATION_SCALE if self._presentation else 1.0
        line = self.figure.line("x", key, source=self.curves, color=s["color"], line_width=s["width"] * f,
                                line_dash=s["dash"], visible=visible)
        _auto_look(line)
        return line

    def _add_series(self, key: str) -> None:
        """Draw an optional series (and the large training set's points with its model) the first time
        it is shown; its legend entry goes after the other series'."""
        fig, renderers = self.figure, [self._line(key, visible=True)]
        self.lines[key] = renderers[0]
        if key == "l1_sorted_large":
            self.train_large_renderer = fig.scatter(
                "x", "y", source=self.train_large, size=5, marker="circle", fill_color=None,
                line_color=STYLE[key]["color"], line_width=1, line_alpha=0.6)
            _auto_look(self.train_large_renderer)
        # below the training points and the markers, as the series drawn from the start
        new = renderers + ([self.train_large_renderer] if key == "l1_sorted_large" else [])
        rest = [r for r in fig.renderers if r not in new]
        at = rest.index(self._train_renderer)
        fig.renderers = [*rest[:at], *new, *rest[at:]]
        self.legend_items[key] = LegendItem(label=value(LABELS[key]), renderers=renderers)
        if key == "l1_sorted_large":
            self.legend_items["train_large"] = LegendItem(label=value("large training set"),
                                                          renderers=[self.train_large_renderer])
        order = [*SERIES, "train", "train_large", "swap", "tie"]
        self.legend.items = [self.legend_items[k] for k in order if k in self.legend_items]

    def set_presentation(self, on: bool) -> None:
        """Larger fonts and thicker lines (the back of a room), or back to normal."""
        self._presentation = bool(on)
        present(self.figure, on)
        self.figure.height = self._height + (70 if on else 0)  # the larger legend covers less of the curves
        f = PRESENTATION_SCALE if on else 1.0
        for key, line in self.lines.items():
            line.glyph.line_width = STYLE[key]["width"] * f
        self._train_renderer.glyph.update(size=11 * f, line_width=2 * f)
        self._dots.glyph.size = 12 * f
        self.d_line.line_width = 2.5 * f
        self._swap_renderer.glyph.line_width = 1.5 * f
        self._tie_renderer.glyph.line_width = 2.5 * f

    def _tap(self, event) -> None:
        if self._on_tap is not None and event.x is not None:
            self._on_tap(float(event.x))

    def set_result(self, x: np.ndarray, series: Mapping[str, np.ndarray], train: np.ndarray,
                   train_large: np.ndarray, swaps: np.ndarray, invalid: Sequence[tuple[float, float]],
                   n_train: int, n_train_large: int, x_label: str, y_label: str, ties: np.ndarray = ()) -> None:
        """Show a new scan.

        Parameters
        ----------
        x : (g,) display abscissa of the grid
        series : "reference" and the shown models -> (g,) display values (NaN where invalid)
        train, train_large : grid indices of the training points
        swaps : (k,) display abscissae of the swap points
        invalid : (start, end) display intervals left out (atoms collide, or the reference is above the energy ceiling)
        ties : (t,) display abscissae of the tie points (equal row norms; a one-point spike)
        """
        x = np.asarray(x, dtype=float)
        data = {"x": x}
        for key in SERIES:
            data[key] = np.asarray(series[key], dtype=float) if key in series else np.full_like(x, np.nan)
        self.curves.data = data
        for key in SERIES:
            if key in series and key not in self.lines:
                self._add_series(key)
            if key in self.lines:
                self.lines[key].visible = key in series
        ref = data["reference"]
        self.train.data = {"x": x[train], "y": ref[train]}
        has_large = "l1_sorted_large" in series and len(train_large) > 0
        self.train_large.data = {"x": x[train_large], "y": ref[train_large]} if has_large else {"x": [], "y": []}
        if self.train_large_renderer is not None:
            self.train_large_renderer.visible = has_large
        self.swaps.data = {"x": np.asarray(swaps, dtype=float)}
        self.ties.data = {"x": np.asarray(ties, dtype=float)}
        self.invalid.data = {"x0": [a for a, _ in invalid], "x1": [b for _, b in invalid]}
        items = self.legend_items
        for key in SERIES:
            if key in items:
                items[key].visible = key in series
        items["train"].label = value(f"training points ({n_train})")
        if "train_large" in items:
            items["train_large"].update(visible=has_large, label=value(f"large training set ({n_train_large})"))
        items["swap"].update(visible=len(swaps) > 0, label=value(f"swap points ({len(swaps)}): order changes"))
        items["tie"].update(visible=len(ties) > 0,
                            label=value(f"tie{'s' if len(ties) > 1 else ''} ({len(ties)}): one-point spike"))
        self.legend.ncols = 2 if sum(item.visible for item in items.values()) > 6 else 1
        self.figure.xaxis.axis_label = x_label
        self.figure.yaxis.axis_label = y_label
        self.frame(self.x_range, x, pad=0.02)
        self.frame(self.y_range, *(data[key] for key in SERIES if key in series))

    @staticmethod
    def frame(rng: Range1d, *values: np.ndarray, pad: float = 0.05) -> None:
        """Set ``rng`` (and what the toolbar's reset returns to) to the finite ``values``, padded by ``pad``."""
        finite = np.concatenate([np.asarray(v, dtype=float).ravel() for v in values]) if values else np.zeros(0)
        finite = finite[np.isfinite(finite)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        span = hi - lo if hi > lo else max(abs(lo), 1.0)
        start, end = lo - pad * span, hi + pad * span
        rng.update(start=start, end=end, reset_start=start, reset_end=end)

    def set_d(self, x: float, values: Mapping[str, float]) -> None:
        """Move the current-displacement line and the markers of each series to ``x``."""
        self.d_line.location = float(x)
        keys = [k for k, v in values.items() if v is not None and np.isfinite(v)]
        self.marker.data = {"x": [float(x)] * len(keys), "y": [float(values[k]) for k in keys],
                            "color": [STYLE[k]["color"] for k in keys], "series": [LABELS[k] for k in keys]}


def covering_intervals(x: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    """Display intervals covering each run of True in ``mask`` (half a grid step beyond each end)."""
    out = []
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return out
    half = float(abs(x[1] - x[0])) / 2 if x.size > 1 else 0.0
    breaks = np.flatnonzero(np.diff(idx) > 1)
    for a, b in zip(np.r_[idx[0], idx[breaks + 1]], np.r_[idx[breaks], idx[-1]], strict=True):
        out.append((float(x[a]) - half, float(x[b]) + half))
    return out
