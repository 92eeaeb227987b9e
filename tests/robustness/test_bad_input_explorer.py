"""Bad input to the displacement explorer, driven in-process (no browser).

Each bad input must show a message in the explorer's alert and keep the last working state
(molecule and scan); a valid change afterwards must work and clear the alert.
"""

from __future__ import annotations

import urllib.parse

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from panel.io.location import Location

from wqml_dash.core.scan.molecule import MAX_FILE_BYTES
from wqml_dash.ui.explorer.displacement_explorer import DisplacementExplorer

WATER = b"3\nwater\nO 0.0 0.0 0.117\nH 0.0 0.757 -0.467\nH 0.0 -0.757 -0.467\n"
INTERNALS = ("Traceback", "Pre-condition Violation", "boost::", "File \"")


def make_explorer(search: str = "", data_source=None):
    explorer = DisplacementExplorer(data_source=data_source)
    pn.panel(explorer).get_root(Document())
    explorer.start(Location(search=search) if search else None)
    return explorer


@pytest.fixture
def explorer():
    return make_explorer()


def assert_alert(explorer, match: str | None = None) -> str:
    message = explorer.alert.object
    assert explorer.alert.visible and message, "no message shown"
    assert not any(s in message for s in INTERNALS), message
    if match is not None:
        assert match.lower() in message.lower(), (match, message)
    return message


def assert_recovers(explorer) -> None:
    """A valid change after the bad one works: new result, alert gone."""
    st = explorer.state
    before = st.result
    explorer.seed.value = st.settings.seed + 1
    assert st.result is not None and st.result is not before
    assert not explorer.alert.visible and st.error == ""


# ------------------------------------------------------------------------------- molecules
@pytest.mark.parametrize(("smiles", "match"), [
    ("C1CC", "cannot parse"), ("xyz", "cannot parse"), ("*C", "dummy atoms"), ("[He]", "single atom"),
    ("[Xe]", "single atom"), ("C" * 120, "at most 300"), ("\x00", "cannot parse"),
    ("[Na+].[Cl-]", "not placed apart"),
])
def test_bad_smiles_keeps_the_molecule(explorer, smiles, match):
    st = explorer.state
    mol, result = st.molecule, st.result
    explorer.picker.source_picker.value = "smiles"
    explorer.picker.smiles_input.value = smiles
    assert_alert(explorer, match)
    assert st.molecule is mol and st.result is result  # the last working state is kept
    explorer.picker.smiles_input.value = "C=C"
    assert st.molecule.formula == "C2H4" and st.result is not None and not explorer.alert.visible


def test_element_without_force_field_parameters(explorer):
    st = explorer.state
    st.settings.reference = "mmff94"
    explorer.picker.source_picker.value = "smiles"
    explorer.picker.smiles_input.value = "F[Xe]F"
    assert_alert(explorer, "MMFF94 has no parameters")
    assert "Not updated" in explorer.plot.figure.title.text
    st.settings.reference = "lj"  # the default reference has parameters for every element
    assert st.result is not None and not explorer.alert.visible and st.molecule.formula == "F2Xe"


@pytest.mark.parametrize("smiles", ["[H][H]", "C#C", "O=C=O"])
def test_two_atoms_and_linear_molecules_say_how_they_move(explorer, smiles):
    explorer.picker.source_picker.value = "smiles"
    explorer.picker.smiles_input.value = smiles
    st = explorer.state
    assert st.result is not None and not explorer.alert.visible
    assert explorer.notice.visible and "linear" in explorer.notice.object
    assert np.isclose(np.linalg.norm(st.result.axis), 1)


@pytest.mark.parametrize(("data", "name", "match"), [
    (b"", "empty.xyz", "empty"),
    (b"\xff\xfe\x00binary", "bin.xyz", "not a text file"), (b"x" * (MAX_FILE_BYTES + 1), "huge.xyz", "at most"),
    (b"2\n\nH nan 0 0\nH 0 0 0\n", "nan.xyz", "finite"), (b"2\n\nH 1e999 0 0\nH 0 0 0\n", "inf.xyz", "finite"),
    (b"2\n\nH 0 0 0\nH 0 0 0\n", "same.xyz", "same position"), (b"1\n\nHe 0 0 0\n", "one.xyz", "single atom"),
    (WATER, "water.sdf", "looks like an XYZ"), (WATER, "water.txt", "unknown extension"),
    (b"2\n\n200 0 0 0\nH 1 0 0\n", "z.xyz", "not an element"), (b"garbage", "g.pdb", "no atoms"),
])
def test_bad_uploads_keep_the_molecule(explorer, data, name, match):
    st = explorer.state
    mol, result = st.molecule, st.result
    explorer.picker.source_picker.value = "file"
    explorer.picker.file_input.send(name, data)
    if match is None:
        assert not explorer.alert.visible
    else:
        assert_alert(explorer, match)
    assert st.molecule is mol and st.result is result
    explorer.picker.file_input.send("water.xyz", WATER)
    assert st.molecule.formula == "H2O" and st.result is not None and not explorer.alert.visible


def test_the_upload_states_its_size_limit(explorer):
    note = explorer.picker._source_widgets["file"][0].object
    assert f"{MAX_FILE_BYTES // 2**20} MiB" in note


# ------------------------------------------------------------------------------- numbers
@pytest.mark.parametrize(("widget", "value", "match"), [
    ("n_train", 0, "at least 2"), ("n_train", -4, "at least 2"), ("n_train", None, "Training points"),
    ("seed", -1, "at least 0"), ("sigma", 0.0, "greater than 0"), ("sigma", -1.0, "greater than 0"),
    ("lam", -1.0, "at least 0"), ("step", 0.0, "at least 0.001"), ("step", -0.01, "at least 0.001"),
    ("step", 0.7, "at most 0.5"), ("n_large", 1, "at least 2"), ("min_distance", -0.5, "at least 0"),
])
def test_numbers_out_of_bounds_are_answered_and_reverted(explorer, widget, value, match):
    st = explorer.state
    w = getattr(explorer, widget)
    kept, result = w.value, st.result
    w.value = value
    assert_alert(explorer, match)
    assert f"The scan keeps {kept}" in explorer.alert.object or "automatic" in explorer.alert.object
    assert w.value == kept and st.result is result
    assert_recovers(explorer)


@pytest.mark.parametrize(("widget", "value", "match"), [
    ("sigma", float("inf"), "finite"), ("lam", float("inf"), "finite"),
    ("n_train", 100_000, "only 201 valid grid points for 100000"),
])
def test_numbers_the_models_cannot_use(explorer, widget, value, match):
    st = explorer.state
    result = st.result
    getattr(explorer, widget).value = value
    assert_alert(explorer, match)
    assert st.result is result  # the last scan stays on screen
    setattr(st.settings, {"n_train": "n_train"}.get(widget, widget), None if widget != "n_train" else 10)
    assert st.result is not result and not explorer.alert.visible


@pytest.mark.parametrize(("changes", "match"), [
    ({"d_min": 2.0}, "range is empty"), ({"d_max": -3.0}, "range is empty"),
    ({"d_min": -1e6, "d_max": 1e6}, "too many"), ({"min_distance": 100.0}, "every geometry"),
    ({"min_distance": float("inf")}, "finite"), ({"axis": "custom", "custom_axis": (0.0, 0.0, 0.0)}, "non-zero"),
    ({"axis": "custom", "custom_axis": (float("nan"), 0.0, 1.0)}, "finite"),
])
def test_settings_that_make_no_scan(explorer, changes, match):
    st = explorer.state
    defaults = {k: st.settings.param[k].default for k in changes}
    st.settings.param.update(changes)
    assert_alert(explorer, match)
    assert "Not updated" in explorer.plot.figure.title.text
    st.settings.param.update(defaults)
    assert st.result is not None and not explorer.alert.visible


def test_every_grid_point_colliding(explorer):
    st = explorer.state
    explorer.picker.source_picker.value = "smiles"
    explorer.picker.smiles_input.value = "C=C"
    st.settings.param.update(atom=0, axis="bond", partner=1)
    st.settings.param.update(d_min=1.1, d_max=1.5)
    assert_alert(explorer, "every geometry")
    st.settings.param.update(d_min=-1.0, d_max=1.0)
    assert st.result is not None and "left out" in explorer.notice.object


def test_a_click_with_no_valid_point_left(explorer):
    st = explorer.state
    train = list(st.result.train_index)
    for _ in range(len(train) - 2):
        explorer._on_tap(float(st.result.d[st.result.train_index[0]]))
    assert len(st.result.train_index) == 2
    explorer._on_tap(float(st.result.d[st.result.train_index[0]]))  # a third removal is refused
    assert_alert(explorer, "at least two training points")
    assert len(st.result.train_index) == 2


# ------------------------------------------------------------------------------- links
@pytest.mark.parametrize(("query", "match"), [
    ({"n_train": "abc"}, "n_train"), ({"seed": "-1"}, "seed"), ({"d": "nan"}, "d"), ({"step": "0"}, "step"),
    ({"atom": "-3"}, "atom"), ({"atom": "999"}, "atom 999 does not exist"), ({"axis": "sideways"}, "axis"),
    ({"reference": "dft"}, "reference"), ({"normalize": "maybe"}, "normalize"), ({"models": '["foo"]'}, "models"),
    ({"train": '[1, "a"]'}, "train"), ({"train": "[-5, 99999]"}, "training points"), ({"source": "bogus"}, "source"),
    ({"source": "smiles", "mol": "C1CC"}, "cannot parse"), ({"source": "smiles"}, "mol"),
    ({"source": "file", "mol": "x.xyz"}, "upload it again"), ({"source": "qm9", "mol": "abc"}, "QM9"),
    ({"mol": "\x00"}, "unknown example"), ({"custom_axis": "[1, 2]", "axis": "custom"}, "custom_axis"),
    ({"source": "smiles", "mol": "[He]"}, "single atom"),
])
def test_bad_links_are_named_and_the_rest_works(query, match):
    explorer = make_explorer("?" + urllib.parse.urlencode(query))
    assert_alert(explorer, match)
    st = explorer.state
    assert st.molecule is not None and len(st.molecule) >= 2
    if st.result is not None:
        assert_recovers(explorer)


@pytest.mark.parametrize(("query", "match"), [
    ({"d_min": "2"}, "range is empty"), ({"n_train": "5000"}, "valid grid points"),
    ({"axis": "custom", "custom_axis": "[0, 0, 0]"}, "non-zero"), ({"step": "0.001", "d_min": "-100"}, "too many"),
])
def test_a_link_whose_settings_make_no_scan_shows_the_defaults(query, match):
    explorer = make_explorer("?" + urllib.parse.urlencode(query))
    message = assert_alert(explorer, match)
    assert "the defaults are shown" in message
    st = explorer.state
    assert st.result is not None and "Not updated" not in explorer.plot.figure.title.text
    assert_recovers(explorer)


def test_a_link_with_two_problems_names_both():
    explorer = make_explorer("?" + urllib.parse.urlencode({"source": "smiles", "mol": "C1CC", "seed": "-1"}))
    message = assert_alert(explorer, "cannot parse the SMILES 'C1CC'")
    assert "The link's value for seed is not valid" in message


@pytest.mark.parametrize(("smiles", "formula"), [("[NH4+]", "H4N"), ("[H][H]", "H2"), ("[13CH4]", "CH4")])
def test_a_link_keeps_smiles_that_look_like_json(smiles, formula):
    # Panel parses query values that start with '[' as JSON and drops them when that fails
    explorer = make_explorer("?" + urllib.parse.urlencode({"source": "smiles", "mol": smiles}))
    st = explorer.state
    assert (st.source, st.key) == ("smiles", smiles) and st.molecule.formula == formula


def test_qm9_bad_queries_and_indices(qm9):
    from wqml_dash.ui.data.data_source import DataSource

    explorer = make_explorer(data_source=DataSource(dataset=qm9))
    st = explorer.state
    mol = st.molecule
    explorer.picker.source_picker.value = "qm9"
    for query in ("C99", "!!!", "[", "99999999", "Zz3", "C" * 500):
        explorer.picker.qm9_query.value = query
        assert_alert(explorer, "No QM9 molecule")
        assert explorer.picker.qm9_results.options == {}
    for index in (0, -1, 999_999):
        explorer.picker._load_qm9(index)
        assert_alert(explorer, "QM9 has no molecule")
        assert st.molecule is mol
    explorer.picker._load_qm9(1)
    assert st.molecule.formula == "CH4" and not explorer.alert.visible
