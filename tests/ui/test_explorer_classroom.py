"""Issue 11, the explorer ready for a class, as Bokeh models without a browser: ties marked, the energy
plot framing every new scan, out-of-bounds boxes answered, downloads with their setup, large molecules."""

from __future__ import annotations

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document

from wqml_dash.ui.displacement_explorer import DisplacementExplorer


@pytest.fixture
def explorer():
    explorer = DisplacementExplorer()
    pn.panel(explorer).get_root(Document())
    explorer.start(None)
    return explorer


def test_a_tie_is_marked_named_and_explained(explorer):
    explorer.state.choose("example", "butadiene")
    plot = explorer.plot
    assert list(plot.ties.data["x"]) == [0.0]
    assert list(plot.swaps.data["x"]) == pytest.approx([-0.305, 0.305])  # the tie is not a swap
    assert plot.legend_items["tie"].visible and "1 tie" in plot.figure.title.text
    assert explorer.notice.visible and "Tie at d = +0.00" in explorer.notice.object
    assert "C1, C2" in explorer.notice.object
    assert "tie" in explorer.example_text.object.lower()
    explorer.state.choose("example", "formic_acid")
    assert len(plot.ties.data["x"]) == 0 and not plot.legend_items["tie"].visible
    assert "tie" not in plot.figure.title.text
