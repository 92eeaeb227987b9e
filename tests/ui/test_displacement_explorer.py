"""The explorer tab as Bokeh models, without a browser: slider -> views in place, links, clicks, downloads.

The page plays a scan from frames sent once (`frame_player`); the views at d are checked here on the
server path (``server_explorer``: frames over the size limit), and the frames against the state.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import panel as pn
import pytest
from bokeh.document import Document
from panel.io.location import Location

from wqml_dash.ui.explorer import displacement_explorer as explorer_module
from wqml_dash.ui.explorer.displacement_explorer import DisplacementExplorer
from wqml_dash.ui.explorer.frame_player import frame_bytes


def _explorer(search: str = ""):
    explorer = DisplacementExplorer()
    pn.panel(explorer).get_root(Document())
    location = Location(search=search) if search else None
    explorer.start(location)
    return explorer, location


@pytest.fixture
def explorer():
    return _explorer()[0]


@pytest.fixture
def server_explorer(monkeypatch):
    """An explorer whose scans are too large for the page: the server updates the views at d."""
    monkeypatch.setattr(explorer_module, "FRAME_LIMIT_BYTES", 0)
    explorer = _explorer()[0]
    assert not explorer.player.client and "too large to play in the browser" in explorer.notice.object
    return explorer


def _meta(explorer) -> dict:
    return json.loads(explorer.player.meta.data["json"][0])


def test_the_page_gets_every_frame_once_and_the_server_draws_none(explorer):
    st, player = explorer.state, explorer.player
    result, n = st.result, len(st.molecule)
    g = result.d.size
    assert player.client and not explorer.notice.visible
    meta = _meta(explorer)
    assert meta["g"] == g and meta["n"] == n and meta["client"] and meta["models"] == list(result.models)
    grid, atoms, cm = player.grid.data, player.atoms.data, player.cm.data
    assert len(grid["d"]) == g and len(atoms["px"]) == g * n and len(cm["value"]) == g * n * (n + 1) // 2
    assert player.size <= frame_bytes(n, g, len(result.models) + 1)
    iu = np.triu_indices(n)
    i, j = result.swap_intervals[0]
    for k in (0, i, j, g - 1):
        frame = st.frame(float(result.d[k]))
        assert np.allclose(np.c_[atoms["px"], atoms["py"], atoms["pz"]][k * n:(k + 1) * n], frame.coords, atol=1e-5)
        assert list(atoms["order"][k * n:(k + 1) * n]) == list(frame.order)
        m = iu[0].size
        assert np.allclose(cm["value"][k * m:(k + 1) * m], frame.cm[iu], rtol=1e-6)
        assert grid["e_w1"][k] == frame.predictions["w1"] and grid["w1"][k] == frame.w1
    assert list(atoms["order"][i * n:(i + 1) * n]) != list(atoms["order"][j * n:(j + 1) * n])  # a swap
    # A slider move is the page's business: the server keeps d, draws nothing, sends nothing back.
    version, d_line, text = explorer._frames_version.value, explorer.plot.d_line.location, explorer._readout_div.text
    explorer.slider.value = 0.42
    assert st.d == 0.42 and explorer.plot.d_line.location == d_line and explorer._readout_div.text == text
    assert explorer._frames_version.value == version
    explorer.new_set.clicks += 1  # new models: new frames, drawn at the same d
    assert explorer._frames_version.value == version + 1 and st.d == 0.42
    assert _meta(explorer)["train_text"] == "10 training points, drawn with seed 1"


def test_slider_moves_every_view_in_place(server_explorer):
    explorer = server_explorer
    plot, heat, cdf = explorer.plot, explorer.heatmap, explorer.cdf
    sources = (plot.curves, plot.marker)
    coords0 = list(explorer.molecule_view.coords)
    text0 = explorer._readout_div.text
    explorer.slider.value = 0.42
    assert explorer.state.d == 0.42
    assert plot.d_line.location == 0.42
    assert set(plot.marker.data["x"]) == {0.42}
    assert "+0.42 Å" in heat.title and "W1 = " in cdf.title
    n = len(explorer.state.molecule)
    assert len(heat.values) == n * (n + 1) // 2 and len(heat.labels) == n and len(cdf.now) == len(cdf.zero)
    assert explorer.molecule_view.coords != coords0
    assert explorer._readout_div.text != text0 and "+0.42 Å" in explorer._readout_div.text
    # the same data sources, updated: nothing was rebuilt
    assert (plot.curves, plot.marker) == sources


def test_heatmap_labels_swap_at_a_swap_point(server_explorer):
    explorer = server_explorer
    result = explorer.state.result
    i, j = result.swap_intervals[0]
    explorer.slider.value = float(result.d[i])
    before = list(explorer.heatmap.labels)
    explorer.slider.value = float(result.d[j])
    after = list(explorer.heatmap.labels)
    assert before != after and sorted(before) == sorted(after)


def test_clicking_the_plot_adds_a_training_point(explorer):
    n = len(explorer.state.result.train_index)
    explorer._on_tap(0.555)
    assert len(explorer.state.result.train_index) == n + 1
    assert len(explorer.plot.train.data["x"]) == n + 1
    assert _meta(explorer)["train_text"] == f"{n + 1} training points, chosen by clicking"


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
    query = Location(search=explorer.link()).query_params
    assert query["d"] == -0.25 and query["reference"] == "lj_uff" and query["mol"] == "formic_acid"
    before, after = _meta(explorer)["query"]  # what the page writes around its d
    assert explorer.link() == "?" + "&".join([*before, "d=-0.25", *after])


def test_a_link_has_one_encoding_and_reads_back_the_same():
    # Panel's Location rewrote the whole query after the first change: lists and booleans came back
    # in Python's spelling (['l1_sorted'], False), which no longer parsed as JSON.
    search = "?mol=formic_acid&models=%5B%22l1_sorted%22%2C%22w1%22%5D&normalize=false&d=0.1"
    explorer, _ = _explorer(search)
    first = explorer.link()
    explorer.state.settings.normalize = True
    explorer.state.settings.normalize = False
    explorer.state.settings.seed = 2
    link = explorer.link()
    for text in (first, link):
        assert "models=%5B%22l1_sorted%22%2C+%22w1%22%5D" in text and "normalize=false" in text
        assert "%27" not in text and "False" not in text and "True" not in text
    again, _ = _explorer(link)
    assert again.link() == link and again.state.settings.seed == 2


def test_an_old_python_style_link_still_opens():
    explorer, _ = _explorer("?mol=formic_acid&models=%5B%27l1_sorted%27%2C+%27w1%27%2C+%27l2_sorted%27%5D"
                            "&normalize=False")
    assert list(explorer.state.settings.models) == ["l1_sorted", "w1", "l2_sorted"]
    assert explorer.state.settings.normalize is False and not explorer.state.error


def test_a_restored_link_fills_the_controls_it_restored():
    explorer, _ = _explorer("?source=smiles&mol=CC(%3DO)C&n_train=6&models=%5B%22l1_sorted%22%2C%22w1%22%2C"
                            "%22l2_sorted%22%5D&reference=lj_uff&normalize=true")
    st = explorer.state
    assert st.molecule.formula == "C3H6O" and not st.error
    assert explorer.picker.source_picker.value == "smiles" and explorer.picker.smiles_input.value == "CC(=O)C"
    assert explorer.n_train.value == 6 and explorer.reference_select.value == "lj_uff"
    assert explorer.extra_models.value == ["l2_sorted"] and explorer.normalize.value is True


def test_a_bad_link_value_is_named_and_the_rest_applies():
    explorer, _ = _explorer("?mol=formic_acid&axis=sideways&seed=3")
    st = explorer.state
    assert st.key == "formic_acid" and st.settings.seed == 3 and st.settings.axis == "normal"
    assert "axis" in st.error and explorer.alert.visible


def test_bad_smiles_shows_an_alert_and_keeps_working(explorer):
    explorer.picker.source_picker.value = "smiles"
    explorer.picker.smiles_input.value = "not a molecule"
    assert explorer.alert.visible and "SMILES" in explorer.alert.object
    explorer.picker.smiles_input.value = "O=CO"
    assert not explorer.alert.visible and "O=CO" in explorer.picker.molecule_info.object


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
    from wqml_dash.ui.data.data_source import DataSource

    explorer = DisplacementExplorer(data_source=DataSource(dataset=qm9))
    pn.panel(explorer).get_root(Document())
    explorer.start()
    explorer.picker.source_picker.value = "qm9"
    explorer.picker.qm9_query.value = "C2H6O"  # ethanol and dimethyl ether
    assert len(explorer.picker.qm9_results.options) == 2
    index = list(explorer.picker.qm9_results.options.values())[0]
    explorer.picker.qm9_results.value = index
    st = explorer.state
    assert (st.source, st.key) == ("qm9", str(index)) and st.molecule.formula == "C2H6O"
    assert st.result is not None and st.error == ""
    explorer.picker.qm9_query.value = "C99"
    assert "No QM9 molecule" in st.error


def test_uploaded_xyz_file(server_explorer):
    explorer = server_explorer
    xyz = b"3\nwater\nO 0.0 0.0 0.117\nH 0.0 0.757 -0.467\nH 0.0 -0.757 -0.467\n"
    explorer.picker.source_picker.value = "file"
    explorer.picker.file_input.send("water.xyz", xyz)
    st = explorer.state
    assert (st.source, st.key) == ("file", "water.xyz") and st.molecule.formula == "H2O"
    assert len(explorer.molecule_view.symbols) == 3 and st.result is not None
    assert explorer.heatmap.ticks == [0, 1, 2] and len(explorer.heatmap.labels) == 3  # a label per atom
    explorer.picker.file_input.send("broken.xyz", b"2\nbad\nO 0 0\n")
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


def test_a_collision_shows_the_nearest_valid_geometry(server_explorer):
    explorer = server_explorer
    st = explorer.state
    st.settings.axis = "bond"  # towards a bonded neighbour: beyond about 0.7 Å the two atoms collide
    bad = st.result.d[~st.result.valid]
    assert bad.size, "this example must have left-out geometries"
    explorer.slider.value = float(bad[-1])
    assert "collide" in explorer._readout_div.text and explorer.molecule_view.invalid
    assert "(nearest valid)" in explorer.heatmap.title
    n = len(st.molecule)
    assert len(explorer.heatmap.values) == n * (n + 1) // 2
    assert explorer.plot.invalid.data["x0"]  # the left-out interval is shaded


@pytest.mark.parametrize(("search", "with_page"), [
    ("", True), ("?mol=butadiene&d=0.3", True), ("?source=example&mol=butadiene", True),
    ("?source=qm9&mol=17", False), ("?source=smiles&mol=C%3DCC%3DO", False), ("?source=file&mol=x.xyz", False)])
def test_only_a_teaching_example_starts_with_the_page(search, with_page):
    assert DisplacementExplorer.starts_with_page(Location(search=search) if search else None) is with_page


def test_a_teaching_examples_first_scan_travels_with_the_page(tmp_path, monkeypatch):
    # The session's document holds the frames, the views at d and the player's callbacks before the
    # page has reported "ready": nothing waits for a round trip to the server.
    from bokeh.models import CustomJS

    from wqml_dash.ui.app import create_app

    monkeypatch.setenv("WQML_STORE", str(tmp_path / "runs.sqlite"))
    doc = Document()
    with pn.io.server.set_curdoc(doc):
        template = create_app()
        template.server_doc(doc)
    explorer = template.main[0]._pages[0]
    assert explorer.state.result is not None and explorer.player.client
    grid = explorer.player.grid
    assert doc.get_model_by_id(grid.id) is grid and len(grid.data["d"]) == explorer.state.result.d.size == 201
    n = len(explorer.state.molecule)
    assert len(explorer.heatmap.values) == n * (n + 1) // 2 and explorer.cdf.now and explorer.heatmap.title
    assert "CM distance to d = 0" in explorer._readout_div.text and not explorer._layout.loading
    sliders = [m for m, _ in explorer.slider._models.values() if doc.get_model_by_id(m.id) is m]
    assert sliders and all(isinstance(s.js_property_callbacks["change:value"][0], CustomJS) for s in sliders)
    assert [type(c).__name__ for c in doc.callbacks._js_event_callbacks["document_ready"]] == ["CustomJS"]


def test_a_burst_of_slider_presses_never_pulls_the_handle_back(explorer):
    # A busy server handles a burst of presses as one batch whose "value_throttled" may lag a press
    # behind "value": nothing is echoed back to the page's slider (20 sessions at once: a page at
    # d = 0.21 was sent back to 0.07), and the next message brings d up to date.
    import param

    slider = explorer.slider
    with param.edit_constant(slider):
        slider.param.update(value=0.21, value_throttled=0.20)
    assert slider.value == 0.21  # the handle stays where the student left it
    with param.edit_constant(slider):
        slider.param.update(value_throttled=0.21)
    assert explorer.state.d == 0.21 and slider.value == 0.21
    with param.edit_constant(slider):  # Play paused in the page: value is stale, value_throttled is where it stopped
        slider.param.update(value=0.5, value_throttled=0.67)
    assert explorer.state.d == 0.67
    explorer.state.d = 0.5  # a change made elsewhere (a click on the plot, a link) moves the handle
    assert slider.value == 0.5
