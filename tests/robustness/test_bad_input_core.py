"""Bad input to the core (molecules, files, scan settings, references, run settings).

Every case must end in the documented user error (`MoleculeError`, a ValueError; its
subclasses `ScanError` and `ReferenceError`; plain ValueError from param's bound checks)
with a one-line message that names the problem, never another exception or a library's
internal text. The table of inputs and answers: /work/notes/issue6-input-table.md.
"""

from __future__ import annotations

import numpy as np
import pytest

from wqml_dash.core.scan.engine import ScanEngine, run_scan
from wqml_dash.core.scan.settings import ScanError, ScanSettings
from wqml_dash.core.scan.grid import is_linear, scan_axis
from wqml_dash.core.scan.molecule import MAX_ATOMS, MAX_FILE_BYTES, Molecule, MoleculeError, molecule_from_smiles
from wqml_dash.core.scan.molecule_files import molecule_from_file
from wqml_dash.core.scan.reference_energies import ReferenceError, reference_energies

WATER_XYZ = b"3\nwater\nO 0.0 0.0 0.117\nH 0.0 0.757 -0.467\nH 0.0 -0.757 -0.467\n"
WATER_SDF = b"""water
  hand

  3  2  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.1170 O   0  0  0  0  0  0  0  0  0  0  0  0
    0.0000    0.7570   -0.4670 H   0  0  0  0  0  0  0  0  0  0  0  0
    0.0000   -0.7570   -0.4670 H   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  1  3  1  0
M  END
$$$$
"""
WATER_PDB = b"""HETATM    1  O   HOH A   1       0.000   0.000   0.117  1.00  0.00           O
HETATM    2  H1  HOH A   1       0.000   0.757  -0.467  1.00  0.00           H
HETATM    3  H2  HOH A   1       0.000  -0.757  -0.467  1.00  0.00           H
END
"""
#: Text that gives away a library's internals instead of a message for the user.
INTERNALS = ("Traceback", "Pre-condition Violation", "Invariant", "numpy.", "File \"", "boost::")


def user_error(fn, *args, kind=ValueError, match: str | None = None, **kwargs) -> str:
    """Call ``fn``, expect ``kind`` with a one-line message free of internals; return the message."""
    with pytest.raises(kind) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    assert message and "\n" not in message, f"not one line: {message!r}"
    assert not any(s in message for s in INTERNALS), message
    if match is not None:
        assert match.lower() in message.lower(), f"{match!r} not in {message!r}"
    return message


def arrays(charges, coords, bonds=()):
    return Molecule(np.asarray(charges), np.asarray(coords, dtype=float), np.asarray(bonds).reshape(-1, 2),
                    "test", None, "test")


def water():
    return molecule_from_file(WATER_XYZ, "water.xyz")


# ------------------------------------------------------------------------------- SMILES
@pytest.mark.parametrize(("smiles", "match"), [
    ("", "empty SMILES"), ("   \t", "empty SMILES"), ("C1CC", "cannot parse"), ("xyz", "cannot parse"),
    ("C(C)(C)(C)(C)C", "cannot parse"), ("\x00", "cannot parse"), ("*C", "dummy atoms"),
    ("C" * 120, f"at most {MAX_ATOMS}"), ("[Xx]", "cannot parse"), ("c1cccc1", "cannot parse"),
    ("[Na+].[Cl-]", "atoms 0 (Na) and 1 (Cl) are at the same position"),
    ("C*C(=O)CN*", "dummy atoms"),  # found by fuzzing: an RDKit invariant violation in the embedding
])
def test_invalid_smiles(smiles, match):
    user_error(molecule_from_smiles, smiles, kind=MoleculeError, match=match)


# ------------------------------------------------------------------------------- elements
@pytest.mark.parametrize(("smiles", "reference", "match"), [
    ("[Xe]F", "mmff94", "MMFF94 has no parameters"),
    ("[Xe]F", "lj_uff", "Z = [54]"),
    ("C[Se]C", "lj_uff", "Z = [34]"),
    ("C[Se]C", "mmff94", "MMFF94 has no parameters"),
    ("[H][H]", "lj_uff", "every atom pair is bonded"),
    ("[H][H]", "mmff94", "MMFF94 has no parameters"),
])
def test_elements_a_reference_has_no_parameters_for(smiles, reference, match):
    mol = molecule_from_smiles(smiles)
    user_error(ScanEngine, mol, ScanSettings(reference=reference), kind=ReferenceError, match=match)
    assert run_scan(mol, ScanSettings(reference="lj")).reference.size == 201  # the default reference works


@pytest.mark.parametrize("charges", [[0, 1], [-1, 1], [119, 1], [200, 1], [1.5, 1]])
def test_charges_that_are_no_element(charges):
    user_error(arrays, charges, [[0, 0, 0], [1, 0, 0]], kind=MoleculeError)


@pytest.mark.parametrize("symbol", [b"119", b"200", b"0", b"Xx", b"Q"])
def test_xyz_element_beyond_the_periodic_table(symbol):
    data = b"2\n\n" + symbol + b" 0 0 0\nH 1 0 0\n"
    user_error(molecule_from_file, data, "a.xyz", kind=MoleculeError, match="line 3")


# ------------------------------------------------------------------------------- atom counts and shapes
@pytest.mark.parametrize("smiles", ["[He]", "[Xe]", "[Og]", "[U]"])
def test_a_single_atom_cannot_be_scanned(smiles):
    mol = molecule_from_smiles(smiles)
    assert len(mol) == 1
    for axis in ("normal", "x"):
        user_error(ScanEngine, mol, ScanSettings(axis=axis), kind=ScanError, match="at least two atoms")


def test_two_atoms_scan_perpendicular_to_their_bond():
    mol = molecule_from_smiles("[H][H]")
    engine = ScanEngine(mol, ScanSettings(axis="normal"))
    bond = mol.coords[1] - mol.coords[0]
    assert abs(engine.axis @ bond) < 1e-9 * np.linalg.norm(bond) and np.isclose(np.linalg.norm(engine.axis), 1)
    result = engine.result()
    assert "linear" in result.notice and np.isfinite(result.reference[result.valid]).all()


@pytest.mark.parametrize("smiles", ["C#C", "O=C=O", "N#CC#N", "C#CC#C"])
def test_linear_molecule_gets_a_documented_perpendicular_axis(smiles):
    mol = molecule_from_smiles(smiles)
    assert is_linear(mol.coords)
    u = scan_axis(mol, ScanSettings(atom=0))
    line = np.linalg.svd(mol.coords - mol.coords.mean(axis=0))[2][0]
    assert abs(u @ line) < 1e-6 and np.isclose(np.linalg.norm(u), 1)
    # deterministic, and the same as the fallback's rule: closest to the axis least aligned with the line
    assert np.array_equal(u, scan_axis(mol, ScanSettings(atom=0)))
    e = np.eye(3)[np.argmin(np.abs(line))]
    assert u @ e == pytest.approx(np.sqrt(1 - (e @ line) ** 2), abs=1e-6)
    result = ScanEngine(mol, ScanSettings(atom=0)).result()
    assert "linear" in result.notice


def test_a_planar_molecule_is_not_linear():
    assert not is_linear(water().coords)
    assert ScanEngine(water(), ScanSettings()).notice is None


def test_a_straight_chain_from_arrays_is_linear():
    chain = arrays([6, 6, 6], [[0, 0, 0], [1.5, 0, 0], [3.0, 0, 0]])
    u = scan_axis(chain, ScanSettings(atom=1))
    assert u[0] == 0 and np.isclose(np.linalg.norm(u), 1)


def test_too_many_atoms():
    n = MAX_ATOMS + 1
    user_error(arrays, np.ones(n, dtype=int), np.c_[np.arange(n), np.zeros(n), np.zeros(n)],
               kind=MoleculeError, match=f"at most {MAX_ATOMS}")
    xyz = f"{n}\nbig\n" + "".join(f"H {i:.1f} 0 0\n" for i in range(n))
    user_error(molecule_from_file, xyz.encode(), "big.xyz", kind=MoleculeError, match=f"at most {MAX_ATOMS}")


@pytest.mark.parametrize(("charges", "coords", "match"), [
    ([1, 1], np.zeros((3, 3)), "shape"), ([], np.zeros((0, 3)), "no atoms"),
    ([1, 1], [["a", 0, 0], [0, 0, 0]], "arrays of numbers"),
])
def test_malformed_arrays(charges, coords, match):
    user_error(Molecule, np.asarray(charges), np.asarray(coords), np.zeros((0, 2)), "x", None, "t",
               kind=MoleculeError, match=match)


def test_bad_bonds():
    user_error(arrays, [1, 1], [[0, 0, 0], [1, 0, 0]], [[0, 2]], kind=MoleculeError, match="does not exist")
    user_error(arrays, [1, 1], [[0, 0, 0], [1, 0, 0]], [[1, 1]], kind=MoleculeError, match="itself")


# ------------------------------------------------------------------------------- coordinates
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 1e300])
def test_non_finite_or_absurd_coordinates_from_arrays(value):
    message = user_error(arrays, [8, 1], [[0, 0, 0], [0, value, 0]], kind=MoleculeError, match="atom 1")
    assert "coordinate" in message


@pytest.mark.parametrize("value", [b"nan", b"NaN", b"inf", b"-inf", b"1e999", b"-1e999", b"Infinity"])
def test_non_finite_coordinates_in_xyz(value):
    data = b"2\n\nO 0 0 0\nH " + value + b" 0 0\n"
    user_error(molecule_from_file, data, "a.xyz", kind=MoleculeError, match="line 4")


def test_huge_but_finite_xyz_coordinates():
    user_error(molecule_from_file, b"2\n\nH 0 0 0\nH 1e300 0 0\n", "a.xyz", kind=MoleculeError, match="beyond")


def test_pdb_and_sdf_atoms_on_one_spot():
    # found by fuzzing: a duplicated PDB line made RDKit's AddHs raise "Cannot normalize a zero length vector"
    line = b"HETATM    2  C1  UNL     1      -0.421  -0.007  -0.027  1.00  0.00           C  \n"
    message = user_error(molecule_from_file, line * 2 + b"END\n", "dup.pdb", kind=MoleculeError)
    assert "atoms 0 (C) and 1 (C) are at the same position" in message
    sdf = WATER_SDF.replace(b"0.7570   -0.4670 H", b"0.0000    0.1170 H")
    message = user_error(molecule_from_file, sdf, "dup.sdf", kind=MoleculeError)
    assert "atoms 0 (O) and 1 (H) are at the same position" in message


def test_two_atoms_on_one_spot_are_named():
    message = user_error(arrays, [6, 1, 8], [[0, 0, 0], [1, 0, 0], [1, 0, 0.001]], kind=MoleculeError)
    assert "atoms 1 (H) and 2 (O)" in message and "same position" in message
    data = b"3\n\nO 0 0 0\nH 0.9 0 0\nH 0.9 0 0\n"
    message = user_error(molecule_from_file, data, "dup.xyz", kind=MoleculeError)
    assert "atoms 1 (H) and 2 (H)" in message


# ------------------------------------------------------------------------------- uploads
@pytest.mark.parametrize(("data", "name", "match"), [
    (b"", "a.xyz", "empty"), (b"  \n\n\t", "a.sdf", "empty"), (b"", "a.pdb", "empty"),
    (b"\xff\xfe\x00\x81binary", "a.xyz", "not a text file"), (bytes(range(256)), "a.pdb", "not a text file"),
    (b"3\n\x00\x00\x00", "a.xyz", "NUL"),
    (b"garbage", "a.sdf", "not a valid MOL/SDF"), (b"garbage", "a.pdb", "no atoms"),
    (b"garbage", "a.xyz", "starts with the number of atoms"),
    (WATER_XYZ, "water.txt", "unknown extension"), (WATER_XYZ, "water", "unknown extension"),
    (WATER_XYZ, "", "unknown extension"),
    (b"5\n\nO 0 0 0\n", "a.xyz", "says 5 atoms"), (b"-3\n\n", "a.xyz", "says -3 atoms"),
    (b"99999999999999999999\n\n", "a.xyz", "atoms"),
    (b"2\n\nO 0 0\nH 1 0 0\n", "a.xyz", "line 3"), (b"2\n\nO a b c\nH 1 0 0\n", "a.xyz", "line 3"),
])
def test_malformed_uploads(data, name, match):
    user_error(molecule_from_file, data, name, kind=MoleculeError, match=match)


@pytest.mark.parametrize(("data", "name", "looks_like"), [
    (WATER_SDF, "water.xyz", "SDF/MOL"), (WATER_PDB, "water.xyz", "PDB"), (WATER_XYZ, "water.sdf", "XYZ"),
    (WATER_XYZ, "water.pdb", "XYZ"), (WATER_SDF, "water.pdb", "SDF/MOL"),
])
def test_mislabelled_uploads_say_what_the_content_looks_like(data, name, looks_like):
    message = user_error(molecule_from_file, data, name, kind=MoleculeError)
    assert f"looks like an {looks_like}" in message or f"looks like a {looks_like}" in message
    assert "extension" in message


def test_sdf_that_fails_rdkit_internal_checks():
    # found by fuzzing: a huge number in an atom line's mass-difference field made RDKit's sanitisation
    # fail an internal check; the message said only "Pre-condition Violation"
    sdf = """
     RDKit          3D

  5  4  0  0  0  0  0  0  0  0999 V2000
   -0.4872    0.9104    0.7700 O   0  0 999999999999 0  0  0  0  0  0  0  0  0  0
   -0.4214   -0.0066   -0.0266 C   0  0  0  0  0  0  0  0  0  0  0  0
    0.7530   -0.4502   -0.5002 O   0  0  0  0  0  0  0  0  0  0  0  0
   -1.2653   -0.5714   -0.4490 H   0  0  0  0  0  0  0  0  0  0  0  0
    1.4208    0.1178   -0.0615 H   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  2  0
  2  3  1  0
  2  4  1  0
  3  5  1  0
M  END
$$$$"""
    message = user_error(molecule_from_file, sdf.encode(), "odd.sdf", kind=MoleculeError)
    assert message.startswith("odd.sdf: ") and "Violation" not in message


def test_search_qm9_with_unicode_digits(qm9):
    from wqml_dash.core.scan.molecule import search_qm9

    # found by fuzzing: '²'.isdigit() is True, and int('²') raised ValueError
    for query in ("²", "١٢", "12²"):
        assert search_qm9(qm9, query).empty
    assert search_qm9(qm9, "12")["qm9_index"].tolist() == [12]


def test_the_three_formats_read_when_labelled_right():
    for data, name in ((WATER_XYZ, "w.xyz"), (WATER_SDF, "w.sdf"), (WATER_PDB, "w.pdb")):
        assert molecule_from_file(data, name).formula == "H2O"


def test_huge_upload_is_refused_before_decoding():
    data = b"\xff" * (MAX_FILE_BYTES + 1)  # would be "not a text file" if it were decoded first
    message = user_error(molecule_from_file, data, "huge.xyz", kind=MoleculeError, match="at most")
    assert f"{MAX_FILE_BYTES + 1:,} bytes" in message and "MiB" in message
    assert molecule_from_file(WATER_XYZ + b" " * (MAX_FILE_BYTES - len(WATER_XYZ)), "w.xyz").formula == "H2O"


def test_upload_names_are_only_names():
    mol = molecule_from_file(WATER_XYZ, "../../etc/water.xyz")
    assert mol.source == "file:water.xyz"
    assert molecule_from_file(WATER_XYZ, "C:\\Users\\x\\water.xyz").source == "file:water.xyz"


def test_upload_of_the_wrong_type():
    user_error(molecule_from_file, 12345, "a.xyz", kind=MoleculeError, match="bytes")


# ------------------------------------------------------------------------------- collisions
def test_a_grid_where_every_geometry_collides():
    mol = molecule_from_smiles("C=C")
    settings = ScanSettings(atom=0, axis="bond", partner=1, d_min=1.1, d_max=1.5, step=0.01)
    message = user_error(ScanEngine, mol, settings, kind=ScanError, match="every geometry")
    assert "collision distance" in message
    user_error(ScanEngine, mol, ScanSettings(min_distance=100), kind=ScanError, match="every geometry")


def test_a_grid_where_some_geometries_collide_is_answered_with_a_notice():
    mol = molecule_from_smiles("C=C")
    result = run_scan(mol, ScanSettings(atom=0, axis="bond", partner=1))
    assert (~result.valid).any() and result.valid.any()
    assert "left out" in result.notice and np.isnan(result.reference[~result.valid]).all()


# ------------------------------------------------------------------------------- numeric settings
BAD_SETTINGS = [
    ({"step": 0.0}, "step"), ({"step": -0.01}, "step"), ({"step": np.nan}, "step"), ({"step": 10.0}, "step"),
    ({"n_train": 1}, "n_train"), ({"n_train": 0}, "n_train"), ({"n_train": -5}, "n_train"),
    ({"n_train_large": 1}, "n_train_large"), ({"seed": -1}, "seed"), ({"atom": -1}, "atom"),
    ({"sigma": 0.0}, "sigma"), ({"sigma": -1.0}, "sigma"), ({"sigma": np.nan}, "sigma"),
    ({"lam": -1.0}, "lam"), ({"lam": np.nan}, "lam"), ({"min_distance": -0.1}, "min_distance"),
    ({"min_distance": np.nan}, "min_distance"), ({"custom_axis": (1.0, 2.0)}, "custom_axis"),
    ({"axis": "sideways"}, "axis"), ({"reference": "dft"}, "reference"), ({"models": ["l3"]}, "models"),
    ({"n_train": 2.5}, "n_train"), ({"seed": "zero"}, "seed"),
]


@pytest.mark.parametrize(("values", "name"), BAD_SETTINGS)
def test_settings_refused_by_their_bounds(values, name):
    user_error(ScanSettings, **values, kind=ValueError, match=name)


BAD_SCANS = [
    ({"atom": 99}, "atom 99 does not exist"), ({"axis": "bond", "partner": 99}, "partner 99 does not exist"),
    ({"axis": "bond", "partner": None}, "needs a partner"), ({"axis": "bond", "partner": 0}, "must differ"),
    ({"axis": "custom", "custom_axis": (0.0, 0.0, 0.0)}, "non-zero"),
    ({"axis": "custom", "custom_axis": (np.nan, 0.0, 1.0)}, "finite"),
    ({"axis": "custom", "custom_axis": (np.inf, 0.0, 0.0)}, "finite"),
    ({"d_min": 1.0, "d_max": -1.0}, "range is empty"), ({"d_min": 0.5, "d_max": 0.5}, "range is empty"),
    ({"d_min": np.nan}, "finite"), ({"d_max": np.inf}, "finite"), ({"d_min": -1e300, "d_max": 1e300}, "too many"),
    ({"d_min": -1e6, "d_max": 1e6, "step": 0.5}, "too many"),
    ({"d_min": -50.0, "d_max": 50.0, "step": 0.001}, "too many"),
    ({"min_distance": np.inf}, "finite"), ({"n_train": 1000}, "only 201 valid grid points for 1000"),
    ({"n_train": 30, "step": 0.1}, "only 21 valid grid points"),
    ({"sigma": np.inf}, "sigma must be a finite number"), ({"lam": np.inf}, "lambda must be a finite number"),
]


@pytest.mark.parametrize(("values", "match"), BAD_SCANS)
def test_settings_that_make_no_scan(values, match):
    user_error(run_scan, water(), ScanSettings(**values), kind=ScanError, match=match)


def test_huge_but_finite_settings_still_work():
    mol = water()
    r = run_scan(mol, ScanSettings(axis="custom", custom_axis=(1e308, 1e308, 0.0)))
    np.testing.assert_allclose(r.axis, [2 ** -0.5, 2 ** -0.5, 0])
    assert np.isfinite(r.models["w1"][r.valid]).all()
    for values in ({"seed": 2 ** 70}, {"lam": 1e300}, {"sigma": 1e300}, {"sigma": 1e-300}, {"n_train": 201}):
        r = run_scan(mol, ScanSettings(**values))
        assert all(np.isfinite(v[r.valid]).all() for v in r.models.values()), values


@pytest.mark.parametrize("train", [[0], [], [5, 5], [-1, 3], [3, 500], [0.5, 2.5], [[1, 2]]])
def test_bad_training_indices(train):
    engine = ScanEngine(water(), ScanSettings())
    user_error(engine.result, train, kind=ScanError)


def test_training_points_where_atoms_collide():
    mol = molecule_from_smiles("C=C")
    engine = ScanEngine(mol, ScanSettings(atom=0, axis="bond", partner=1))
    bad = int(np.flatnonzero(~engine.valid)[0])
    user_error(engine.result, [0, bad], kind=ScanError, match="collide")


def test_unknown_models_and_references():
    engine = ScanEngine(water(), ScanSettings())
    user_error(engine.result, models=["l3"], kind=ScanError, match="unknown model")
    user_error(reference_energies, "dft", water(), water().coords[None], kind=ValueError, match="unknown reference")


def test_force_fields_need_bond_orders():
    mol = water()
    bare = Molecule(mol.charges, mol.coords, mol.bonds, "no orders", None, "test", molblock=None)
    user_error(ScanEngine, bare, ScanSettings(reference="uff"), kind=ReferenceError, match="bond orders")


# ------------------------------------------------------------------------------- run settings
BAD_RUNS = [
    ({"sizes": []}, None), ({"sizes": [0]}, None), ({"sizes": [3], "folds": 5}, "folds"), ({"sizes": ["a"]}, None),
    ({"sizes": [1.5]}, None), ({"n_test": 0}, "n_test"), ({"n_test": -1}, "n_test"), ({"folds": 1}, "folds"),
    ({"folds": 100}, "folds"), ({"seeds": []}, None), ({"seeds": [-1]}, "seeds"), ({"seeds": [1, 1]}, "differ"),
    ({"seeds": ["x"]}, None), ({"series": ["x"]}, "series"), ({"series": []}, None),
    ({"series": ["sorted:l1", "sorted:l1"]}, "differ"), ({"sigma_factors": [0.0]}, "sigma"),
    ({"sigma_factors": [-1.0]}, "sigma"), ({"lambdas": [-1.0]}, "lambda"), ({"device": "tpu"}, "device"),
    ({"target": "colour"}, "target"), ({"representation": "smiles"}, "representation"),
    ({"search": "random"}, "search"), ({"bogus": 1}, "unknown run settings"), ({"n_test": "many"}, None),
    ({"sizes": "100"}, None), ({"name": 5}, None),
]


@pytest.mark.parametrize(("values", "match"), BAD_RUNS)
def test_run_config_refuses_bad_values(values, match):
    from wqml_dash.runs.config import RunConfig

    user_error(RunConfig.from_dict, values, kind=ValueError, match=match)


def test_run_config_too_large_for_qm9():
    from wqml_dash.runs.config import RunConfig

    config = RunConfig.from_dict({"sizes": [130_000], "n_test": 2000})
    user_error(config.check_fits, 130_831, kind=ValueError, match="exceeds")
