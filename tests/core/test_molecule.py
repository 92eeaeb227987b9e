"""Molecules from SMILES, QM9, files and teaching examples; clear errors for bad input."""

from __future__ import annotations


import numpy as np
import pytest
from rdkit import Chem

from wqml_dash.core.scan.examples import (TEACHING_EXAMPLES, example_files, molecule_from_example,
                                          molecule_from_example_file)
from wqml_dash.core.scan.molecule import Molecule, MoleculeError, molecule_from_qm9, molecule_from_smiles, search_qm9
from wqml_dash.core.scan.molecule_files import molecule_from_file


@pytest.fixture(scope="module")
def ethanol():
    return molecule_from_smiles("CCO")


def test_smiles_has_hydrogens_bonds_and_is_deterministic(ethanol):
    assert ethanol.symbols == ["C", "C", "O", "H", "H", "H", "H", "H", "H"]
    assert len(ethanol) == 9 and ethanol.formula == "C2H6O"
    assert ethanol.coords.shape == (9, 3) and ethanol.bonds.shape == (8, 2)
    assert (ethanol.bonds[:, 0] < ethanol.bonds[:, 1]).all()
    assert ethanol.smiles == "CCO" and ethanol.source == "smiles"
    again = molecule_from_smiles("OCC")  # same molecule, other atom order in the SMILES
    assert again.smiles == "CCO"
    np.testing.assert_array_equal(molecule_from_smiles("CCO").coords, ethanol.coords)
    # a force-field minimum: C-C and C-O bond lengths of a real ethanol
    d = np.linalg.norm(ethanol.coords[0] - ethanol.coords[1]), np.linalg.norm(ethanol.coords[1] - ethanol.coords[2])
    assert 1.48 < d[0] < 1.55 and 1.38 < d[1] < 1.45
    with pytest.raises(ValueError):
        ethanol.coords[0, 0] = 1.0  # read-only


@pytest.mark.parametrize("smiles,message", [("C1CC", "cannot parse"), ("", "empty"), ("C(C", "cannot parse"),
                                            ("*C", "dummy")])
def test_bad_smiles(smiles, message):
    with pytest.raises(MoleculeError, match=message):
        molecule_from_smiles(smiles)


def test_xyz_file_bonds_perceived(ethanol):
    mol = molecule_from_file(ethanol.to_xyz("my ethanol").encode(), "ethanol.xyz")
    assert mol.source == "file:ethanol.xyz" and mol.name == "my ethanol"
    np.testing.assert_array_equal(mol.charges, ethanol.charges)
    np.testing.assert_allclose(mol.coords, ethanol.coords, atol=1e-7)
    np.testing.assert_array_equal(mol.bonds, ethanol.bonds)
    assert mol.smiles == "CCO"  # bond orders perceived too
    assert mol.molblock is not None


def test_sdf_file(ethanol):
    rd = ethanol.to_rdkit()
    rd.SetProp("_Name", "ethanol from sdf")
    block = Chem.MolToMolBlock(rd) + "$$$$\n" + Chem.MolToMolBlock(molecule_from_smiles("C").to_rdkit()) + "$$$$\n"
    mol = molecule_from_file(block.encode(), "e.sdf")
    assert mol.name == "ethanol from sdf"
    np.testing.assert_array_equal(mol.charges, ethanol.charges)
    np.testing.assert_allclose(mol.coords, ethanol.coords, atol=1e-4)
    np.testing.assert_array_equal(mol.bonds, ethanol.bonds)


def test_mol_file_without_hydrogens_gets_them(ethanol):
    heavy = Chem.RemoveHs(ethanol.to_rdkit())
    mol = molecule_from_file(Chem.MolToMolBlock(heavy).encode(), "ethanol.MOL")
    assert mol.formula == "C2H6O" and mol.bonds.shape == (8, 2)
    np.testing.assert_allclose(mol.coords[:3], ethanol.coords[:3], atol=1e-4)


def test_2d_molfile_is_embedded():
    flat = Chem.MolFromSmiles("CCO")
    from rdkit.Chem import AllChem
    AllChem.Compute2DCoords(flat)
    mol = molecule_from_file(Chem.MolToMolBlock(flat).encode(), "flat.mol")
    assert len(mol) == 9 and np.ptp(mol.coords[:, 2]) > 0.1


def test_pdb_file(ethanol):
    block = Chem.MolToPDBBlock(ethanol.to_rdkit())
    mol = molecule_from_file(block.encode(), "ethanol.pdb")
    np.testing.assert_array_equal(mol.charges, ethanol.charges)
    np.testing.assert_allclose(mol.coords, ethanol.coords, atol=1e-3)  # PDB keeps 3 decimals
    assert mol.bonds.shape == (8, 2)


@pytest.mark.parametrize("data,name,message", [
    (b"3\n\nC 0 0 0\n", "a.xyz", "says 3 atoms"),
    (b"two\n\nC 0 0 0\n", "a.xyz", "number of atoms"),
    (b"1\n\nQq 0 0 0\n", "a.xyz", "line 3"),
    (b"1\n\nC 0 zero 0\n", "a.xyz", "line 3"),
    (b"", "a.xyz", "empty"),
    (b"\xff\xfe\x00binary", "a.sdf", "not a text file"),
    (b"this is not a molfile", "a.sdf", "MOL/SDF"),
    (b"HEADER nothing here\nEND\n", "a.pdb", "no atoms"),
    (b"1\n\nC 0 0 0\n", "molecule.abc", "unknown extension '.abc'"),
    (b"1\n\nC 0 0 0\n", "molecule.cif", "molecule.cif: ASE cannot read it as cif"),
    (b"1\n\nC 0 0 0\n", "molecule", "unknown extension"),
])
def test_bad_files(data, name, message):
    with pytest.raises(MoleculeError, match=message):
        molecule_from_file(data, name)


def test_molecule_validates_shapes():
    with pytest.raises(MoleculeError, match="shape"):
        Molecule(np.array([1, 1]), np.zeros((3, 3)), np.zeros((0, 2)), "x", None, "test")
    with pytest.raises(MoleculeError, match="does not exist"):
        Molecule(np.array([1, 1]), np.eye(2, 3), np.array([[0, 2]]), "x", None, "test")


def test_qm9_molecule_and_search(qm9):
    mol = molecule_from_qm9(qm9, 215)
    assert mol.name == "QM9 #215 C5H5N" and mol.source == "qm9:215"
    row = int(np.flatnonzero(qm9.index == 215)[0])
    charges, coords = qm9.molecule(row)
    np.testing.assert_array_equal(mol.charges, charges)
    np.testing.assert_array_equal(mol.coords, coords)
    assert mol.bonds.shape == (11, 2)  # pyridine: 6 ring bonds, 5 C-H
    with pytest.raises(MoleculeError, match="no molecule #0"):
        molecule_from_qm9(qm9, 0)
    by_smiles = search_qm9(qm9, "c1ccncc1")
    assert by_smiles["qm9_index"].tolist() == [215]
    assert list(by_smiles.columns) == list(qm9.to_frame().columns)
    by_formula = search_qm9(qm9, "C2H6O")
    assert len(by_formula) == 2 and set(by_formula["formula"]) == {"C2H6O"}  # ethanol, dimethyl ether
    assert search_qm9(qm9, "H6C2O")["qm9_index"].tolist() == by_formula["qm9_index"].tolist()
    assert search_qm9(qm9, "215")["qm9_index"].tolist() == [215]
    assert len(search_qm9(qm9, "C7H10O2", limit=7)) == 7
    assert search_qm9(qm9, "not a molecule!").empty and search_qm9(qm9, "").empty


@pytest.mark.parametrize("key", list(TEACHING_EXAMPLES))
def test_teaching_examples_build(key):
    example = TEACHING_EXAMPLES[key]
    mol = molecule_from_example(key)
    assert mol.source == f"example:{key}" and mol.name == example.title
    assert 0 <= example.atom < len(mol) and mol.charges[example.atom] > 1  # a heavy atom moves
    assert example.axis in ("normal", "bond") and len(example.description) > 40
    if example.axis == "bond":
        assert tuple(sorted((example.atom, example.partner))) in set(map(tuple, mol.bonds.tolist()))


def test_unknown_example():
    with pytest.raises(MoleculeError, match="unknown example"):
        molecule_from_example("unobtainium")


EXAMPLE_FILES = sorted(example_files().values(), key=lambda f: f.name)


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.name for p in EXAMPLE_FILES])
def test_shipped_example_files_parse(path):
    mol = molecule_from_file(path.read_bytes(), path.name)
    assert molecule_from_example_file(path.name).formula == mol.formula
    expected = {"formic_acid.xyz": "CH2O2", "pyridine.sdf": "C5H5N", "ethanol.pdb": "C2H6O"}[path.name]
    assert mol.formula == expected and mol.bonds.shape[0] >= len(mol) - 1 and mol.molblock is not None
