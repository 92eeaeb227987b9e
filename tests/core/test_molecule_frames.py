"""Molecules from any file ASE reads, frames of multi-frame files, periodic cells refused, `Molecule.to_ase`.

Every file here is written by ASE itself (or by hand for plain XYZ) into ``tmp_path`` and read back
from its bytes, as the explorer's upload and ``wqml scan --file`` read them.
"""

from __future__ import annotations

import subprocess
import sys

import ase.io
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, molecule
from ase.calculators.singlepoint import SinglePointCalculator

from wqml_dash.core.scan.molecule import MAX_ATOMS, MAX_FILE_BYTES, MoleculeError, molecule_from_smiles
from wqml_dash.core.scan.molecule_files import frames_in_file, molecule_from_file

NAMES = ("H2O", "CH4", "CH3CH2OH")
FORMULAS = ("H2O", "CH4", "C2H6O")


def three_frames() -> list[Atoms]:
    """Water, methane, ethanol, each with an energy (eV), as a trajectory of different molecules."""
    frames = []
    for k, name in enumerate(NAMES):
        atoms = molecule(name)
        atoms.positions += 0.1 * k  # no two frames share a coordinate
        atoms.calc = SinglePointCalculator(atoms, energy=-1.5 * k)
        atoms.info["name"] = name.lower()
        frames.append(atoms)
    return frames


def write(tmp_path, filename: str, images, **kwargs) -> bytes:
    path = tmp_path / filename
    ase.io.write(path, images, **kwargs)
    return path.read_bytes()


def assert_is(mol, atoms: Atoms, atol: float = 1e-6) -> None:
    np.testing.assert_array_equal(mol.charges, atoms.numbers)
    np.testing.assert_allclose(mol.coords, atoms.positions, atol=atol)


def one_line_error(data, filename, frame=0, match=None) -> str:
    with pytest.raises(MoleculeError) as info:
        molecule_from_file(data, filename, frame)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message, message
    if match is not None:
        assert match in message, message
    return message


# ------------------------------------------------------------------------------- multi-frame files
@pytest.mark.parametrize("filename", ["three.extxyz", "three.traj", "three.json"])
def test_a_chosen_frame_of_an_ase_file(tmp_path, filename):
    frames = three_frames()
    data = write(tmp_path, filename, frames)
    labels = frames_in_file(data, filename)
    assert len(labels) == 3 and labels[2].startswith("2: C2H6O") and "E = -3 eV" in labels[2]
    mol = molecule_from_file(data, filename, frame=2)
    assert_is(mol, frames[2])
    assert mol.formula == "C2H6O" and mol.smiles == "CCO" and mol.source == f"file:{filename}@2"
    assert mol.name.endswith("(frame 2)")
    for k in range(3):
        assert molecule_from_file(data, filename, frame=k).formula == FORMULAS[k]
    assert molecule_from_file(data, filename, frame=-1).source == f"file:{filename}@2"  # from the end, as ASE
    assert molecule_from_file(data, filename).formula == "H2O"  # frame 0 by default


def test_another_frame_of_the_same_file_is_not_parsed_again(tmp_path, monkeypatch):
    from wqml_dash.core.scan import ase_files

    from collections import OrderedDict

    monkeypatch.setattr(ase_files, "_RECENT", OrderedDict())  # earlier tests read the same bytes
    calls, real = [], ase_files._read
    monkeypatch.setattr(ase_files, "_read", lambda *a: (calls.append(a[1]), real(*a))[1])
    data = write(tmp_path, "again.traj", three_frames())
    assert len(frames_in_file(data, "again.traj")) == 3
    assert [molecule_from_file(data, "again.traj", k).formula for k in (2, 0, 1)] == ["C2H6O", "H2O", "CH4"]
    assert calls == ["again.traj"]


def test_extended_xyz_keeps_its_names(tmp_path):
    data = write(tmp_path, "three.extxyz", three_frames())
    assert molecule_from_file(data, "three.extxyz", 1).name == "ch4 (frame 1)"


def test_an_ase_database(tmp_path, monkeypatch):
    import tempfile

    import ase.db

    frames = three_frames()
    path = tmp_path / "three.db"
    with ase.db.connect(path) as db:
        for atoms in frames:
            db.write(atoms)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the private copy goes
    seen, real_read = [], ase.io.read
    monkeypatch.setattr(ase.io, "read", lambda f, *a, **k: (seen.append(str(f)), real_read(f, *a, **k))[1])
    data = path.read_bytes()
    assert [label.split(",")[0] for label in frames_in_file(data, "three.db")] == ["0: H2O", "1: CH4", "2: C2H6O"]
    assert_is(molecule_from_file(data, "three.db", 2), frames[2])
    assert len(seen) == 1 and seen[0].startswith(str(scratch))  # read once, from a copy in the scratch folder
    assert list(scratch.iterdir()) == []  # the temporary copy is gone
    one_line_error(b"not a database" * 10, "bad.db", match="bad.db: ASE cannot read it as db")
    assert list(scratch.iterdir()) == []


def test_multi_frame_plain_xyz(tmp_path):
    frames = three_frames()
    data = write(tmp_path, "plain.xyz", frames, format="xyz")  # ASE's plain XYZ: no key=value pairs
    assert frames_in_file(data, "plain.xyz") == ["0: H2O", "1: CH4", "2: C2H6O"]
    mol = molecule_from_file(data, "plain.xyz", 2)
    assert_is(mol, frames[2])
    assert mol.name == "plain (frame 2)" and mol.source == "file:plain.xyz@2"
    assert molecule_from_file(data, "plain.xyz", 1).formula == "CH4"


def test_multi_frame_xyz_by_hand_names_the_broken_frame():
    water = "3\nwater\nO 0.0 0.0 0.117\nH 0.0 0.757 -0.467\nH 0.0 -0.757 -0.467\n"
    broken = "2\nbroken\nO 0 0 0\nQq 1 0 0\n"
    data = (water + broken + water.replace("water", "water again") + "\n\n").encode()
    labels = frames_in_file(data, "w.xyz")
    assert labels == ["0: H2O, water", "1: OQq, broken", "2: H2O, water again"]
    assert molecule_from_file(data, "w.xyz", 2).name == "water again (frame 2)"
    one_line_error(data, "w.xyz", 1, match="w.xyz: frame 1: line 4 is not 'element x y z'")
    assert molecule_from_file(water.encode() + b"trailing notes\n", "w.xyz").name == "water"  # as before


def test_extended_xyz_written_as_xyz(tmp_path):
    frames = three_frames()
    data = write(tmp_path, "ext.xyz", frames, format="extxyz")
    assert frames_in_file(data, "ext.xyz")[1] == "1: CH4, E = -1.5 eV"
    mol = molecule_from_file(data, "ext.xyz", 2)
    assert_is(mol, frames[2])
    assert mol.name == "ch3ch2oh (frame 2)"


def test_sdf_records_are_frames():
    from rdkit import Chem

    ethanol, methane = molecule_from_smiles("CCO"), molecule_from_smiles("C")
    rd = ethanol.to_rdkit()
    rd.SetProp("_Name", "ethanol")
    block = Chem.MolToMolBlock(rd) + "$$$$\n" + Chem.MolToMolBlock(methane.to_rdkit()) + "$$$$\n"
    assert frames_in_file(block.encode(), "two.sdf") == ["0: ethanol, 9 atoms", "1: record, 5 atoms"]
    assert molecule_from_file(block.encode(), "two.sdf", 1).formula == "CH4"
    assert molecule_from_file(block.encode(), "two.sdf").name == "ethanol"


@pytest.mark.parametrize(("filename", "frame", "match"), [
    ("three.extxyz", 3, "three.extxyz: there is no frame 3; it has 3 frames, 0 to 2"),
    ("three.traj", -4, "three.traj: there is no frame -4; it has 3 frames, 0 to 2"),
    ("three.xyz", 7, "three.xyz: there is no frame 7; it has 3 frames, 0 to 2"),
])
def test_a_frame_out_of_range(tmp_path, filename, frame, match):
    data = write(tmp_path, filename, three_frames(), **({"format": "xyz"} if filename.endswith(".xyz") else {}))
    one_line_error(data, filename, frame, match=match)


def test_one_frame_files_have_frame_0_only(tmp_path):
    water = b"3\nwater\nO 0.0 0.0 0.117\nH 0.0 0.757 -0.467\nH 0.0 -0.757 -0.467\n"
    assert frames_in_file(water, "w.xyz") == ["0: H2O, water"]
    assert molecule_from_file(water, "w.xyz").source == "file:w.xyz"  # no frame in the name of a one-frame file
    one_line_error(water, "w.xyz", 1, match="w.xyz: there is no frame 1; it has one frame, 0")
    one_line_error(b"HETATM    1  O   HOH     1       0.000   0.000   0.000  1.00  0.00           O\nEND\n",
                   "w.pdb", 2, match="no frame 2")


# ------------------------------------------------------------------------------- other formats ASE reads
@pytest.mark.filterwarnings("ignore:FHI-aims IO is moving:FutureWarning")  # ASE's aims writer, in this test only
@pytest.mark.parametrize("filename", ["ethanol.com", "ethanol.xsf", "ethanol.gro", "ethanol.gen", "ethanol.in"])
def test_other_molecule_formats(tmp_path, filename):
    ethanol = molecule("CH3CH2OH")
    mol = molecule_from_file(write(tmp_path, filename, ethanol), filename)
    assert_is(mol, ethanol, atol=0.006 if filename.endswith(".gro") else 1e-6)  # .gro: nm, 3 decimals
    assert mol.smiles == "CCO" and mol.source == f"file:{filename}"


def test_a_cube_files_box_is_no_lattice(tmp_path):
    water = molecule("H2O")
    water.center(vacuum=4.0)
    data = write(tmp_path, "water.cube", water, data=np.zeros((2, 2, 2)))
    assert_is(molecule_from_file(data, "water.cube"), water)


# ------------------------------------------------------------------------------- refused
def test_periodic_structures_are_refused(tmp_path):
    message = one_line_error(write(tmp_path, "cu.cif", bulk("Cu")), "cu.cif")
    assert message.startswith("cu.cif: frame 0 is periodic (pbc T T T, cell 2.55 × 2.55 × 2.55 Å)")
    assert "the Coulomb matrix here is for isolated molecules" in message and "remove the cell" in message
    one_line_error(write(tmp_path, "POSCAR", bulk("Si")), "POSCAR", match="POSCAR: frame 0 is periodic")
    slab = molecule("H2O")
    slab.cell, slab.pbc = [5.0, 5.0, 5.0], [True, True, False]
    one_line_error(write(tmp_path, "slab.extxyz", slab), "slab.extxyz", match="periodic (pbc T T F")
    boxed = molecule("H2O")
    boxed.cell = [5.0, 5.0, 5.0]  # a cell, but not periodic: a molecule
    assert molecule_from_file(write(tmp_path, "boxed.extxyz", boxed), "boxed.extxyz").formula == "H2O"


def test_a_periodic_frame_of_a_trajectory(tmp_path):
    frames = three_frames()
    frames[1].cell, frames[1].pbc = [6.0, 6.0, 6.0], True
    data = write(tmp_path, "mixed.traj", frames)
    assert len(frames_in_file(data, "mixed.traj")) == 3
    one_line_error(data, "mixed.traj", 1, match="mixed.traj: frame 1 is periodic (pbc T T T, cell 6 × 6 × 6 Å)")
    assert molecule_from_file(data, "mixed.traj", 2).formula == "C2H6O"


@pytest.mark.parametrize(("data", "filename", "match"), [
    (b"\x00\x01\x02 not a trajectory" * 20, "g.traj", "g.traj: ASE cannot read it as traj"),
    (b"garbage\nmore garbage\n", "g.extxyz", "g.extxyz: ASE cannot read it as extxyz"),
    (b"\x00\x01garbage", "g.extxyz", "g.extxyz: not a text file"),
    (b"{not json", "g.json", "g.json: ASE cannot read it as json"),
    (b"garbage", "g.cif", "g.cif: ASE"),
    (b"garbage", "g.log", "g.log: ASE found no structure in it"),
    (b"garbage", "g.txt", "cannot read 'g.txt': unknown extension '.txt'"),
    (b"garbage", "g.xyz.gz", "a compressed file (.gz); decompress it first"),
    (b"\xff" * (MAX_FILE_BYTES + 1), "huge.traj", f"at most {MAX_FILE_BYTES:,} bytes"),
])
def test_bad_files_are_one_line(data, filename, match):
    one_line_error(data, filename, match=match)
    with pytest.raises(MoleculeError, match="ASE|unknown|compressed|at most|not a text"):
        frames_in_file(data, filename)


def test_too_many_atoms_and_dummy_atoms(tmp_path):
    n = MAX_ATOMS + 1
    big = Atoms("H" * n, positions=np.c_[np.arange(n) * 1.5, np.zeros(n), np.zeros(n)])
    one_line_error(write(tmp_path, "big.extxyz", big), "big.extxyz",
                   match=f"big.extxyz: the molecule has {n} atoms; the explorer handles at most {MAX_ATOMS}")
    one_line_error(write(tmp_path, "big.xyz", [molecule("H2O"), big], format="xyz"), "big.xyz", 1,
                   match=f"at most {MAX_ATOMS}")
    ghost = Atoms("XH", positions=[[0, 0, 0], [1, 0, 0]])
    one_line_error(write(tmp_path, "ghost.traj", ghost), "ghost.traj", match="dummy atoms")
    same = Atoms("HH", positions=[[0, 0, 0], [0, 0, 0]])
    one_line_error(write(tmp_path, "same.traj", same), "same.traj", match="same position")


# ------------------------------------------------------------------------------- the way back
def test_to_ase_round_trip(tmp_path):
    mol = molecule_from_smiles("C=CC=O", name="acrolein")
    atoms = mol.to_ase()
    assert isinstance(atoms, Atoms) and not atoms.pbc.any() and atoms.cell.rank == 0
    np.testing.assert_array_equal(atoms.numbers, mol.charges)
    np.testing.assert_array_equal(atoms.positions, mol.coords)
    assert atoms.get_chemical_symbols() == mol.symbols
    assert atoms.info == {"name": "acrolein", "source": "smiles", "smiles": mol.smiles}
    moved = mol.coords + 0.5
    np.testing.assert_array_equal(mol.to_ase(moved).positions, moved)
    for filename in ("back.extxyz", "back.traj", "back.xyz"):
        again = molecule_from_file(write(tmp_path, filename, atoms), filename)
        np.testing.assert_array_equal(again.charges, mol.charges)
        np.testing.assert_allclose(again.coords, mol.coords, atol=1e-6)
        assert again.smiles == mol.smiles
    assert molecule_from_file(write(tmp_path, "back.extxyz", atoms), "back.extxyz").name == "acrolein"


def test_ase_is_not_imported_until_a_file_needs_it():
    code = ("import sys; import wqml_dash.core.scan.molecule_files, wqml_dash.ui.explorer.molecule_picker; "
            "assert 'ase' not in sys.modules, 'ase imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
