"""The sorted Coulomb matrix and the CDFs of its entries, drawn by the browser on a canvas.

Two small components, one Bokeh model each (the two Bokeh figures they replace were about 80
models per session, built, walked and serialised for every new session). The page's frame player
(`frame_player`) sets their values for every grid point without a server round trip; on the
server path (scans too large to send as frames) the explorer sets them here.

No science: the matrix, its order and its entries come from ``wqml_dash.core`` through the
explorer's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import param
from panel.custom import JSComponent

#: Most atom labels on a heatmap axis: a 9 pt label needs about 14 pixels of a 200-pixel axis.
#: Larger molecules get every k-th row labelled (hovering a cell names its row and column).
MAX_HEATMAP_LABELS = 15

_STYLES = ["""
:host { display: block; }
.wqml-cmview { position: relative; width: 100%; height: 100%; }
.wqml-cmview canvas { display: block; }
.wqml-cmview-tip { position: absolute; display: none; pointer-events: none; white-space: nowrap;
  font-size: 12px; padding: 3px 7px; border-radius: 4px; background: #ffffffee; border: 1px solid #c5ccd6;
  color: #222; box-shadow: 0 1px 4px #0002; }
"""]


def _label_every(n: int) -> int:
    """k: every k-th of n sorted rows gets a label (1 up to `MAX_HEATMAP_LABELS` rows)."""
    return -(-n // MAX_HEATMAP_LABELS)


def heatmap_ticks(n: int) -> list[int]:
    """Sorted-row positions that get a label: all of them up to `MAX_HEATMAP_LABELS`, else every k-th."""
    return list(range(0, n, _label_every(n)))


def upper_triangle(matrix: np.ndarray) -> list[float]:
    """The upper triangle of a symmetric (n, n) matrix, row-major with the diagonal: n (n + 1) / 2 values."""
    matrix = np.asarray(matrix, dtype=float)
    values = matrix[np.triu_indices(matrix.shape[0])]
    return [float(v) for v in np.round(values, 4)]


class _CanvasView(JSComponent):
    """What both views share: the drawing (`cm_views.js`, which draws by ``kind``), the size and a CSS class."""

    kind = param.String(default="", constant=True, doc="Which drawing (cm_views.js)")
    title = param.String(default="")
    presentation = param.Boolean(default=False, doc="Larger fonts and lines (a projector)")

    _esm = Path(__file__).with_name("cm_views.js")
    _stylesheets = _STYLES
    _css_class = ""

    def __init__(self, **params):
        params.setdefault("height", 300)
        params.setdefault("sizing_mode", "stretch_width")
        params.setdefault("css_classes", [self._css_class])
        super().__init__(**params)


class CMHeatmap(_CanvasView):
    """The sorted Coulomb matrix at d, rows and columns labelled by atom (they swap at a swap point).

    Colours follow log10 of the entry between `low` and `high`, kept for a whole scan so that
    colours compare across d; the moving atom's row and column are outlined.
    """

    kind = param.String(default="heatmap", constant=True, doc="Which drawing (cm_views.js)")
    title = param.String(default="Sorted Coulomb matrix")
    values = param.List(default=[], doc="Upper triangle of the sorted CM, row-major with the diagonal, "
                                        "(n (n + 1) / 2,): e^2 per Angstrom off the diagonal, 0.5 Z^2.4 on it")
    labels = param.List(default=[], item_type=str, doc="Atom label of each sorted row, (n,)")
    moving = param.Integer(default=-1, doc="Sorted row of the moving atom (-1: none)")
    low = param.Number(default=0.1, doc="Entry at the bottom of the colour scale")
    high = param.Number(default=100.0, doc="Entry at the top of the colour scale")
    ticks = param.List(default=[], item_type=int, doc="Sorted rows that get a label (`heatmap_ticks`)")
    axis_label = param.String(default="", doc="Says so when only every k-th row is labelled")

    _css_class = "wqml-cm-heatmap"

    def set_scale(self, low: float, high: float) -> None:
        """Colour range for a molecule (kept for the whole scan so colours compare across d)."""
        self.param.update(low=float(low), high=float(high))

    def set_size(self, n: int) -> None:
        """The rows that get a label for an n-atom molecule (`heatmap_ticks`); called per molecule."""
        k = _label_every(n)
        nth = {2: "2nd", 3: "3rd"}.get(k, f"{k}th")
        self.param.update(ticks=heatmap_ticks(n), axis_label=f"every {nth} row labelled" if k > 1 else "")

    def set_matrix(self, matrix: np.ndarray, labels: Sequence[str], moving_row: int, title: str) -> None:
        """matrix (n, n), sorted; labels (n,) atom names in the sorted order; moving_row its row index."""
        self.param.update(values=upper_triangle(matrix), labels=list(labels), moving=int(moving_row), title=title)


class CDFPlot(_CanvasView):
    """Empirical CDFs of the CM entries at d and at d = 0; the shaded area between them is W1."""

    kind = param.String(default="cdf", constant=True, doc="Which drawing (cm_views.js)")
    now = param.List(default=[], doc="CM entries at d, sorted ascending, (m,)")
    zero = param.List(default=[], doc="CM entries at d = 0, sorted ascending, (m,)")
    title = param.String(default="Distribution of the CM entries")

    _css_class = "wqml-cdf-plot"

    def set_entries(self, now: np.ndarray, zero: np.ndarray, title: str) -> None:
        """now, zero : (m,) entries sorted ascending (equal m, so the CDFs step at the same heights)."""
        self.param.update(now=[float(v) for v in np.round(now, 4)], zero=[float(v) for v in np.round(zero, 4)],
                          title=title)
