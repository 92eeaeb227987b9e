"""Issue 11, the explorer ready for a class, as Bokeh models without a browser: ties marked, the energy
plot framing every new scan, out-of-bounds boxes answered, downloads with their setup, large molecules."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document

from wqml_dash.ui.explorer.displacement_explorer import DisplacementExplorer


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
    assert plot.legend_items["tie"].visible and plot.legend_items["tie"].label.value == "tie (1): one-point spike"
    assert plot.legend_items["swap"].label.value == "swap points (2): order changes"
    assert explorer.notice.visible and "Tie at d = +0.00" in explorer.notice.object
    assert "C1, C2" in explorer.notice.object
    assert "tie" in explorer.picker.example_text.object.lower()
    explorer.state.choose("example", "formic_acid")
    assert len(plot.ties.data["x"]) == 0 and not plot.legend_items["tie"].visible
    assert plot.legend_items["swap"].visible


def _frames(explorer):
    """The energy plot's y range and what reset returns to frame the shown curves (padded, not more)."""
    result, plot = explorer.state.result, explorer.plot
    shown = [result.reference, *result.models.values()]
    lo, hi = np.nanmin(shown), np.nanmax(shown)
    y = plot.figure.y_range
    assert (y.start, y.end) == (y.reset_start, y.reset_end)
    assert y.start < lo and y.end > hi and (y.end - y.start) < 1.2 * (hi - lo)
    x = plot.figure.x_range
    assert x.start < result.d[0] and x.end > result.d[-1] and (x.reset_start, x.reset_end) == (x.start, x.end)


def test_every_new_scan_frames_its_curves_after_errors(explorer):
    # The sequence of issue 11 (a smaller "large" molecule): errors in between leave the last scan shown;
    # every scan after them is framed by the server, and the toolbar's reset returns to that framing.
    st = explorer.state
    explorer.picker.smiles_input.value = "CC(=O)C"
    explorer.molecule_view.highlight = 2  # O2, as if clicked in the 3D view
    explorer.extra_models.value = ["l1_sorted_large"]
    explorer.slider.value = 0.30
    _frames(explorer)
    for bad in ("C1CC((", "xyz", "C(C"):
        explorer.picker.smiles_input.value = bad
        assert explorer.alert.visible
    explorer.picker.smiles_input.value = "CCCCCCCCCCCC"
    _frames(explorer)
    explorer.n_train.value = 100000
    explorer.step.value = -0.1
    explorer.d_min.value = 5
    explorer.n_train.value, explorer.step.value, explorer.d_min.value = 10, 0.01, -1.0
    assert st.result is not None and st.result.d.size == 201
    _frames(explorer)
    for smiles, energy in (("c1ccccc1", -1247), ("O=CO", -400)):
        explorer.picker.smiles_input.value = smiles
        _frames(explorer)
        y = explorer.plot.figure.y_range
        assert y.start < energy < y.end


def test_the_csv_states_the_setup_and_units(explorer):
    import io

    import pandas as pd

    st = explorer.state
    explorer.state.choose("example", "butadiene")
    explorer.extra_models.value = ["l1_sorted_large"]
    explorer.seed.value = 3
    explorer.sigma.value = 50.0
    text = explorer._csv().getvalue()
    header = [line[2:] for line in text.splitlines() if line.startswith("# ")]
    setup = "\n".join(header)
    mol = st.molecule
    for expected in (f"molecule: {mol.name} ({mol.formula}, 10 atoms", "SMILES C=CC=C", "moving atom: 0 (C)",
                     "axis: normal, unit vector (",
                     "range: d from -1 to 1 Angstrom, step 0.01 Angstrom, 201 grid points",
                     "collision distance: 0.6 of the sum of their covalent radii",
                     "energy ceiling: 1000 kcal/mol above the reference's minimum", "reference energy: lj (kcal/mol)",
                     "training points: 10, seed 3; large training set: 80", "tie points: +0.000 Angstrom",
                     "swap points: -0.305, +0.305 Angstrom", "units: d in Angstrom, energies in kcal/mol"):
        assert expected in setup, expected
    for name in ("l1_sorted", "w1", "l1_sorted_large"):
        sigma, lam = st.result.hyperparameters[name]
        line = next(h for h in header if h.startswith(f"model {name} ("))
        assert f"sigma = {sigma:.6g} (units of the CM distance, given)" in line and f"lambda = {lam:.3g}" in line
    frame = pd.read_csv(io.StringIO(text), comment="#")
    assert list(frame.columns) == ["d [Angstrom]", "reference [kcal/mol]", "l1_sorted [kcal/mol]", "w1 [kcal/mol]",
                                   "l1_sorted_large [kcal/mol]", "valid", "is_train", "is_train_large", "is_tie"]
    np.testing.assert_allclose(frame["reference [kcal/mol]"], st.result.reference)
    assert frame["is_tie"].sum() == 1 and frame["is_train"].sum() == 10
    explorer.normalize.value = True  # the display only: the CSV keeps physical units
    again = pd.read_csv(io.StringIO(explorer._csv().getvalue()), comment="#")
    np.testing.assert_allclose(again["reference [kcal/mol]"], st.result.reference)


def test_a_slow_molecule_shows_what_is_under_way(explorer):
    import asyncio

    st = explorer.state
    seen = []
    st.param.watch(lambda e: seen.append((e.new, explorer.notice.object, explorer._views_box.loading)), "busy")
    # In a thread of its own: Playwright's sync API (session-scoped in the suite) keeps a loop running here.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, st.choose_in_background("smiles", "CCCCCCCCCC")).result()
    building, computing, done = seen
    assert building[0].startswith("Building the molecule") and "⏳ Building" in building[1] and building[2]
    assert computing[0].startswith("Computing the scan of C10H22 (32 atoms)") and computing[2]
    assert done[0] == "" and not done[2] and st.molecule.formula == "C10H22"


def test_large_molecules_get_a_readable_subset_of_heatmap_labels(explorer):
    from wqml_dash.ui.explorer.cm_views import MAX_HEATMAP_LABELS, heatmap_ticks

    assert heatmap_ticks(12) == list(range(12)) and heatmap_ticks(15) == list(range(15))
    assert heatmap_ticks(122) == list(range(0, 122, 9)) and len(heatmap_ticks(182)) <= MAX_HEATMAP_LABELS
    explorer.picker.smiles_input.value = "CCCCCCCCCCCCCCCCCCCC"  # 62 atoms
    heat = explorer.heatmap
    assert heat.ticks == list(range(0, 62, 5))
    assert heat.axis_label == "every 5th row labelled"
    explorer.state.choose("example", "formic_acid")
    assert heat.ticks == list(range(5)) and heat.axis_label == ""


def test_an_optional_series_is_drawn_when_first_shown_below_the_points_with_its_legend_entry(explorer):
    from wqml_dash.ui.explorer.scan_plots import ALWAYS_DRAWN, PRESENTATION_SCALE, STYLE

    plot = explorer.plot
    assert set(plot.lines) == set(ALWAYS_DRAWN) and plot.train_large_renderer is None  # a new session: 3 lines
    explorer.presentation.value = True
    explorer.extra_models.value = ["l1_sorted_large", "l2_sorted"]
    assert {"l1_sorted_large", "l2_sorted"} <= set(plot.lines) and plot.lines["l2_sorted"].visible
    assert plot.lines["l2_sorted"].glyph.line_width == pytest.approx(PRESENTATION_SCALE * STYLE["l2_sorted"]["width"])
    assert plot.train_large_renderer.visible and len(plot.train_large.data["x"]) == 80
    renderers = plot.figure.renderers
    assert renderers.index(plot.lines["l2_sorted"]) < renderers.index(plot._train_renderer)  # under the points
    labels = [item.label.value for item in plot.legend.items]
    assert labels.index("L2 · sorted CM") < labels.index("L1 · sorted CM, large training set") < next(
        i for i, label in enumerate(labels) if label.startswith("training points"))
    assert plot.legend_items["train_large"].visible
    explorer.extra_models.value = []  # hidden again, kept for the next time
    assert not plot.lines["l2_sorted"].visible and not plot.legend_items["l2_sorted"].visible
    assert not plot.train_large_renderer.visible and not plot.legend_items["train_large"].visible


def test_presentation_mode_enlarges_fonts_and_lines_and_is_a_link_key(explorer):
    from wqml_dash.ui.explorer.scan_state import URL_STATE

    assert URL_STATE["presentation"] == ("state", "presentation")
    plot = explorer.plot
    w1 = plot.lines["w1"].glyph.line_width
    explorer.presentation.value = True
    assert explorer.state.presentation
    assert plot.figure.title.text_font_size == "16pt" and plot.figure.xaxis[0].axis_label_text_font_size == "17pt"
    assert plot.lines["w1"].glyph.line_width == pytest.approx(1.8 * w1) and plot.figure.height == 430
    assert explorer.heatmap.presentation and explorer.cdf.presentation
    assert "wqml-big" in explorer._readout_div.css_classes
    assert "presentation=true" in explorer.link()
    # the page writes the address bar from the player's scan facts: the toggle reaches them without a new scan
    query = json.loads(explorer.player.meta.data["json"][0])["query"]
    assert "presentation=true" in "&".join(query[0] + query[1])
    explorer.state.presentation = False
    assert plot.figure.title.text_font_size == "13pt" and plot.lines["w1"].glyph.line_width == w1
    assert not explorer.presentation.value and "wqml-big" not in explorer._readout_div.css_classes
    assert not explorer.heatmap.presentation and not explorer.cdf.presentation
