"""The explorer tab as Bokeh models, without a browser: slider -> views in place, links, clicks, downloads."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.document import Document
from panel.io.location import Location

from wqml_dash.ui.displacement_explorer import DisplacementExplorer


def _explorer(search: str = ""):
    explorer = DisplacementExplorer()
    pn.panel(explorer).get_root(Document())
    location = Location(search=search) if search else None
    explorer.start(location)
    return explorer, location


@pytest.fixture
def explorer():
    return _explorer()[0]


def test_slider_moves_every_view_in_place(explorer):
    plot, heat, cdf = explorer.plot, explorer.heatmap, explorer.cdf
    sources = (plot.curves, plot.marker, heat.cells, cdf.now)
    coords0 = list(explorer.molecule_view.coords)
    text0 = explorer._readout_div.text
    explorer.slider.value = 0.42
    assert explorer.state.d == 0.42
    assert plot.d_line.location == 0.42
    assert set(plot.marker.data["x"]) == {0.42}
    assert "+0.42 Å" in heat.figure.title.text and "W1 = " in cdf.figure.title.text
    assert explorer.molecule_view.coords != coords0
    assert explorer._readout_div.text != text0 and "+0.42 Å" in explorer._readout_div.text
    # the same data sources, updated: nothing was rebuilt
    assert (plot.curves, plot.marker, heat.cells, cdf.now) == sources


def test_heatmap_labels_swap_at_a_swap_point(explorer):
    result = explorer.state.result
    i, j = result.swap_intervals[0]
    explorer.slider.value = float(result.d[i])
    before = dict(explorer.heatmap.figure.xaxis[0].major_label_overrides)
    explorer.slider.value = float(result.d[j])
    after = dict(explorer.heatmap.figure.xaxis[0].major_label_overrides)
    assert before != after and sorted(before.values()) == sorted(after.values())


def test_clicking_the_plot_adds_a_training_point(explorer):
    n = len(explorer.state.result.train_index)
    explorer._on_tap(0.555)
    assert len(explorer.state.result.train_index) == n + 1
    assert len(explorer.plot.train.data["x"]) == n + 1
    assert f"{n + 1} training points, chosen by clicking" in explorer._readout_div.text


def test_normalised_display(explorer):
    explorer.state.settings.normalize = True
    x = np.asarray(explorer.plot.curves.data["x"])
    ref = np.asarray(explorer.plot.curves.data["reference"])
    assert x.min() == -1 and x.max() == 1
    assert np.isclose(np.nanmin(ref), 0) and np.isclose(np.nanmax(ref), 1)
    explorer._on_tap(0.5)  # display units: d = 0.5 * max|d|
    assert any(abs(explorer.state.result.d[i] - 0.5) < 0.011 for i in explorer.state.result.train_index)


def test_a_link_restores_the_view_and_the_url_follows():
    explorer, location = _explorer("?mol=formic_acid&atom=1&d=0.3&n_train=7&seed=4"
                                   "&models=%5B%22l1_sorted%22%2C%22w1%22%2C%22l2_sorted%22%5D")
    st = explorer.state
    assert st.key == "formic_acid" and st.settings.atom == 1  # the link's atom, not the example's
    assert st.d == 0.3 and explorer.slider.value == 0.3
    assert len(st.result.train_index) == 7 and st.settings.seed == 4
    assert set(st.result.models) == {"l1_sorted", "w1", "l2_sorted"}
    explorer.slider.value = -0.25
    st.settings.reference = "lj_uff"
    query = location.query_params
    assert query["d"] == -0.25 and query["reference"] == "lj_uff" and query["mol"] == "formic_acid"


def test_a_bad_link_value_is_named_and_the_rest_applies():
    explorer, _ = _explorer("?mol=formic_acid&axis=sideways&seed=3")
    st = explorer.state
    assert st.key == "formic_acid" and st.settings.seed == 3 and st.settings.axis == "normal"
    assert "axis" in st.error and explorer.alert.visible


def test_bad_smiles_shows_an_alert_and_keeps_working(explorer):
    explorer.source_picker.value = "smiles"
    explorer.smiles_input.value = "not a molecule"
    assert explorer.alert.visible and "SMILES" in explorer.alert.object
    explorer.smiles_input.value = "O=CO"
    assert not explorer.alert.visible and "O=CO" in explorer.molecule_info.object


def test_picking_an_atom_in_3d_moves_that_atom(explorer):
    atom = (explorer.state.settings.atom + 1) % len(explorer.state.molecule)
    explorer.molecule_view.highlight = atom
    assert explorer.state.settings.atom == atom and explorer.state.result.atom == atom
    assert explorer.atom_select.value == atom


def test_downloads(explorer):
    frame = pd.read_csv(io.StringIO(explorer._csv().getvalue()), comment="#")
    assert list(frame.columns[:2]) == ["d [Angstrom]", "reference [kcal/mol]"]
    assert {"l1_sorted [kcal/mol]", "w1 [kcal/mol]", "is_train"} <= set(frame.columns)
    assert len(frame) == explorer.state.result.d.size
    assert explorer.csv_download.filename.endswith(".csv")
    data = json.loads(explorer._json().getvalue())
    assert data["train_index"] == [int(i) for i in explorer.state.result.train_index]


def test_two_sessions_share_no_bokeh_model():
    # A model in two documents breaks the second browser session: each serialises on its own.
    docs = []
    for _ in range(2):
        explorer = DisplacementExplorer()
        doc = Document()
        doc.add_root(pn.panel(explorer).get_root(doc))
        explorer.start()
        docs.append(doc)
    for doc in docs:
        doc.to_json()  # raised for the second session while a stylesheet model was shared
    ids = [{m.id for m in doc.models} for doc in docs]
    assert not ids[0] & ids[1]


def test_qm9_search_and_load(qm9):
    from wqml_dash.ui.data_source import DataSource

    explorer = DisplacementExplorer(data_source=DataSource(dataset=qm9))
    pn.panel(explorer).get_root(Document())
    explorer.start()
    explorer.source_picker.value = "qm9"
    explorer.qm9_query.value = "C2H6O"  # ethanol and dimethyl ether
    assert len(explorer.qm9_results.options) == 2
    index = list(explorer.qm9_results.options.values())[0]
    explorer.qm9_results.value = index
    st = explorer.state
    assert (st.source, st.key) == ("qm9", str(index)) and st.molecule.formula == "C2H6O"
    assert st.result is not None and st.error == ""
    explorer.qm9_query.value = "C99"
    assert "No QM9 molecule" in st.error


def test_uploaded_xyz_file(explorer):
    xyz = b"3\nwater\nO 0.0 0.0 0.117\nH 0.0 0.757 -0.467\nH 0.0 -0.757 -0.467\n"
    explorer.source_picker.value = "file"
    explorer.file_input.send("water.xyz", xyz)
    st = explorer.state
    assert (st.source, st.key) == ("file", "water.xyz") and st.molecule.formula == "H2O"
    assert len(explorer.molecule_view.symbols) == 3 and st.result is not None
    for axis in (*explorer.heatmap.figure.xaxis, *explorer.heatmap.figure.yaxis):  # a tick per atom
        assert list(axis.ticker.ticks) == [0, 1, 2] and len(axis.major_label_overrides) == 3
    explorer.file_input.send("broken.xyz", b"2\nbad\nO 0 0\n")
    assert "Could not load" in explorer.alert.object and st.molecule.formula == "H2O"


def test_play_sweeps_d_back_and_forth(explorer):
    grid = explorer.state.result.d
    explorer.slider.value = float(grid[-2])
    explorer.tick()
    assert explorer.state.d == grid[-1] and explorer.slider.value == grid[-1]
    explorer.tick()  # turns round at the end
    assert explorer.state.d == grid[-2]


def test_play_stops_when_the_tab_is_hidden(explorer):
    explorer.play.value = True
    explorer.shown = False
    assert explorer.play.value is False and explorer._play_callback is None


def test_a_collision_shows_the_nearest_valid_geometry(explorer):
    st = explorer.state
    st.settings.axis = "bond"  # towards a bonded neighbour: beyond about 0.7 Å the two atoms collide
    bad = st.result.d[~st.result.valid]
    assert bad.size, "this example must have left-out geometries"
    explorer.slider.value = float(bad[-1])
    assert "collide" in explorer._readout_div.text and explorer.molecule_view.invalid
    assert "(nearest valid)" in explorer.heatmap.figure.title.text
    assert len(explorer.heatmap.cells.data["value"]) == len(st.molecule) ** 2
    assert explorer.plot.invalid.data["x0"]  # the left-out interval is shaded
