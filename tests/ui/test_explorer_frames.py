"""The explorer's upload of a file of several frames, in process (no browser): the frame chooser
appears only for such files, loads the chosen frame, and bad frames are answered in the alert."""

from __future__ import annotations

import io

import ase.io
import numpy as np
import panel as pn
import pytest
from ase.build import bulk, molecule
from bokeh.document import Document

from wqml_dash.ui.explorer import molecule_picker
from wqml_dash.ui.explorer.displacement_explorer import DisplacementExplorer

WATER = b"3\nwater\nO 0.0 0.0 0.117\nH 0.0 0.757 -0.467\nH 0.0 -0.757 -0.467\n"


def trajectory(*names, periodic: int | None = None) -> tuple[bytes, list]:
    """Extended XYZ of ASE's molecules ``names`` (frame ``periodic`` in a periodic cell)."""
    frames = [molecule(name) for name in names]
    if periodic is not None:
        frames[periodic].cell, frames[periodic].pbc = [7.0, 7.0, 7.0], True
    text = io.StringIO()
    ase.io.write(text, frames, format="extxyz")
    return text.getvalue().encode(), frames


@pytest.fixture
def explorer():
    explorer = DisplacementExplorer()
    pn.panel(explorer).get_root(Document())
    explorer.start(None)
    explorer.picker.source_picker.value = "file"
    return explorer


def test_a_multi_frame_upload_offers_its_frames(explorer):
    picker, st = explorer.picker, explorer.state
    assert not picker.frame_select.visible and not picker.frame_number.visible
    data, frames = trajectory("H2O", "CH4", "CH3CH2OH")
    picker.file_input.send("three.extxyz", data)
    assert st.molecule.formula == "H2O" and st.source == "file" and st.result is not None
    assert picker.frame_select.visible and not picker.frame_number.visible
    assert list(picker.frame_select.options) == ["0: H2O", "1: CH4", "2: C2H6O"]
    assert picker.frame_select.value == 0
    picker.frame_select.value = 2
    assert st.molecule.formula == "C2H6O" and st.molecule.source == "file:three.extxyz@2"
    np.testing.assert_allclose(st.molecule.coords, frames[2].positions, atol=1e-6)
    assert "(frame 2)" in picker.molecule_info.object and "9 atoms" in picker.molecule_info.object
    assert not explorer.alert.visible
    picker.file_input.send("water.xyz", WATER)  # a one-frame file: no chooser
    assert st.molecule.formula == "H2O" and not picker.frame_select.visible


def test_a_periodic_frame_is_answered_and_the_molecule_kept(explorer):
    picker, st = explorer.picker, explorer.state
    data, _ = trajectory("H2O", "CH4", periodic=1)
    picker.file_input.send("mixed.extxyz", data)
    mol, result = st.molecule, st.result
    assert mol.formula == "H2O"
    picker.frame_select.value = 1
    assert explorer.alert.visible and "mixed.extxyz: frame 1 is periodic" in explorer.alert.object
    assert "isolated molecules" in explorer.alert.object
    assert st.molecule is mol and st.result is result


@pytest.mark.parametrize(("data", "name", "match"), [
    (b"garbage\n", "g.extxyz", "g.extxyz: ASE cannot read it as extxyz"),
    (b"\x00\x01 not a trajectory" * 10, "g.traj", "g.traj: ASE cannot read it as traj"),
    (b"data_x\n", "m.cif", "m.cif: ASE found no structure"),
])
def test_unreadable_files_are_one_line_in_the_alert(explorer, data, name, match):
    st = explorer.state
    mol = st.molecule
    explorer.picker.file_input.send(name, data)
    assert explorer.alert.visible and match in explorer.alert.object and "Traceback" not in explorer.alert.object
    assert st.molecule is mol and not explorer.picker.frame_select.visible


def test_a_periodic_crystal_is_refused(explorer):
    text = io.BytesIO()
    ase.io.write(text, bulk("Cu"), format="cif")
    explorer.picker.file_input.send("cu.cif", text.getvalue())
    assert "cu.cif: frame 0 is periodic" in explorer.alert.object


def test_many_frames_get_a_number_box(explorer, monkeypatch):
    monkeypatch.setattr(molecule_picker, "MAX_LISTED_FRAMES", 2)
    picker, st = explorer.picker, explorer.state
    data, _ = trajectory("H2O", "CH4", "CH3CH2OH")
    picker.file_input.send("three.extxyz", data)
    assert picker.frame_number.visible and not picker.frame_select.visible
    assert picker.frame_number.name == "Frame (0 to 2)"
    picker.frame_number.value = 1
    assert st.molecule.formula == "CH4"
    picker.frame_number.value = 5
    assert "three.extxyz has frames 0 to 2" in explorer.alert.object and st.molecule.formula == "CH4"


def test_the_file_picker_offers_the_formats_ase_reads(explorer):
    accept = explorer.picker.file_input.accept.split(",")
    assert {".xyz", ".sdf", ".mol", ".pdb", ".extxyz", ".traj", ".db", ".cif", ".log", ".out"} <= set(accept)
