"""Data sets from files ASE reads: what is read, what is refused, and learning curves on them."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from wqml_dash.core.data import DataError, MolecularDataset, dataset_files, default_target, load_dataset
from wqml_dash.core.learn import LearningCurveSettings, run_learning_curve

METHANE = np.array([[0, 0, 0], [0.63, 0.63, 0.63], [-0.63, -0.63, 0.63], [-0.63, 0.63, -0.63],
                    [0.63, -0.63, -0.63]], dtype=float)
WATER = np.array([[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]], dtype=float)


def _frames(n=12, seed=0, energy=True):
    """Methane and water with jittered geometries, an energy (eV) and a 'gap' in info."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        symbols, xyz = ("CH4", METHANE) if i % 2 == 0 else ("OH2", WATER)
        a = Atoms(symbols, positions=xyz + rng.normal(0, 0.03, xyz.shape))
        a.info["gap"] = 0.25 + 0.01 * i
        a.info["label"] = f"m{i}"  # text: not a property
        if energy:
            a.calc = SinglePointCalculator(a, energy=-10.0 - i)
        frames.append(a)
    return frames


@pytest.fixture
def extxyz(tmp_path):
    path = tmp_path / "set.extxyz"
    write(path, _frames())
    return path


def test_extended_xyz_gives_every_frame_with_energy_and_info_numbers(extxyz):
    frames = _frames()
    ds = load_dataset(extxyz, target="energy")
    assert (len(ds), ds.name, ds.index_name) == (12, "set.extxyz", "frame")
    assert sorted(ds.properties) == ["energy", "gap"]
    np.testing.assert_allclose(ds.target("energy"), -10.0 - np.arange(12))
    assert ds.unit("energy") == "eV" and ds.unit("gap") == ""
    assert ds.max_atoms == 5 and ds.n_atoms.tolist() == [5, 3] * 6
    z, xyz = ds.molecule(3)
    assert z.tolist() == [8, 1, 1]
    np.testing.assert_allclose(xyz, frames[3].positions, atol=1e-7)
    assert ds.formulas()[:2].tolist() == ["CH4", "H2O"]
    assert default_target(ds) == "energy"


def test_scalar_results_extended_xyz_files_under_the_calculator_are_properties_too(tmp_path):
    frames = _frames()
    for i, a in enumerate(frames):
        a.info["dipole"] = 1.0 + i  # a name ASE's extended XYZ reader hands to the calculator
    write(tmp_path / "d.extxyz", frames)
    ds = load_dataset(tmp_path / "d.extxyz", target="dipole", unit="D")
    np.testing.assert_allclose(ds.target("dipole"), 1.0 + np.arange(12))
    assert ds.unit("dipole") == "D" and ds.unit("energy") == "eV"


def test_the_unit_is_recorded_and_aliases_are_normalised(extxyz):
    assert load_dataset(extxyz, target="gap", unit="hartree").unit("gap") == "Ha"
    assert load_dataset(extxyz, target="energy", unit="kcal/mol").unit("energy") == "kcal/mol"
    assert load_dataset(extxyz, target="gap", unit="hartree").describe("gap")["unit"] == "Ha"


def test_multi_frame_plain_xyz_and_a_csv_beside_it(tmp_path):
    path = tmp_path / "traj.xyz"
    frames = _frames(energy=False)
    write(path, frames, format="xyz")  # plain XYZ: no properties in the comment lines
    assert len(load_dataset(path)) == 12 and load_dataset(path).properties == {}
    (tmp_path / "traj.csv").write_text("frame,E_mmff [kcal/mol],name\n"
                                       + "".join(f"{11 - i},{float(i)},x{i}\n" for i in range(12)))
    ds = load_dataset(path, target="E_mmff")
    np.testing.assert_allclose(ds.target("E_mmff"), 11.0 - np.arange(12))  # rows matched by 'frame'
    assert ds.unit("E_mmff") == "kcal/mol" and "name" not in ds.properties


def test_an_ase_database_with_key_value_pairs(tmp_path):
    import ase.db

    path = tmp_path / "set.db"
    with ase.db.connect(path) as db:
        for a in _frames():
            db.write(a, homo=-0.2 - a.info["gap"])
    ds = load_dataset(path, target="homo", unit="Ha")
    assert len(ds) == 12 and {"energy", "homo"} <= set(ds.properties)
    assert ds.unit("homo") == "Ha" and ds.unit("energy") == "eV"
    np.testing.assert_allclose(ds.target("homo"), -0.45 - 0.01 * np.arange(12))


def test_a_trajectory_and_the_way_back_to_ase(tmp_path):
    path = tmp_path / "set.traj"
    write(path, _frames())
    ds = load_dataset(path, target="energy")
    back = ds.to_ase()
    assert len(back) == 12 and back[1].get_chemical_formula() == "H2O"
    again = MolecularDataset.from_ase(back, target="energy")
    np.testing.assert_array_equal(again.coordinates, ds.coordinates)
    np.testing.assert_array_equal(again.charges, ds.charges)
    np.testing.assert_allclose(again.target("energy"), ds.target("energy"))


def test_the_content_hash_follows_the_content_not_the_file(tmp_path):
    frames = _frames()
    write(tmp_path / "a.traj", frames)
    write(tmp_path / "b.traj", frames)
    a, b = load_dataset(tmp_path / "a.traj"), load_dataset(tmp_path / "b.traj")
    assert a.content_hash == b.content_hash and len(a.content_hash) == 64
    frames[5].positions[0, 0] += 0.001
    write(tmp_path / "b.traj", frames)
    assert load_dataset(tmp_path / "b.traj").content_hash != a.content_hash


def test_atomization_energies_from_free_atom_references(extxyz):
    refs = {"H": -0.5, "C": -1.0, "O": -2.0}
    ds = load_dataset(extxyz, target="energy", references=refs)
    expected = (-10.0 - np.arange(12)) - np.where(np.arange(12) % 2 == 0, -1.0 - 4 * 0.5, -2.0 - 2 * 0.5)
    np.testing.assert_allclose(ds.target("atomization_energy"), expected)
    assert ds.unit("atomization_energy") == "eV"
    with pytest.raises(DataError, match="no free-atom reference energy for O"):
        load_dataset(extxyz, target="energy", references={"H": -0.5, "C": -1.0})


def test_any_elements_and_a_hundred_atoms(tmp_path):
    rng = np.random.default_rng(1)
    frames = []
    for n in (100, 120, 60):
        grid = np.stack(np.meshgrid(*[np.arange(5)] * 3), -1).reshape(-1, 3)[:n] * 1.6
        a = Atoms(numbers=rng.choice([1, 6, 17, 35, 53], n), positions=grid + rng.normal(0, 0.05, (n, 3)))
        a.info["e"] = float(n)
        frames.append(a)
    write(tmp_path / "big.extxyz", frames)
    ds = load_dataset(tmp_path / "big.extxyz", target="e")
    assert ds.max_atoms == 120 and set(np.unique(ds.charges).tolist()) <= {1, 6, 17, 35, 53}
    assert "Cl" in "".join(ds.formulas()) or "Br" in "".join(ds.formulas())


@pytest.mark.parametrize("mutate,match", [
    (lambda fr: fr[4].info.pop("gap"), r"set.extxyz: frame 4 has no 'gap' \(the other frames do\)"),
    (lambda fr: fr[2].info.update(gap=float("nan")), r"target 'gap' is NaN or infinite in frame 2"),
    (lambda fr: fr[3].info.update(gap=float("inf")), r"NaN or infinite in frame 3"),
    (lambda fr: (fr[1].set_cell([5, 5, 5]), fr[1].set_pbc(True)), r"frame 1 is periodic \(pbc TTT\); the Coulomb "
                                                                    r"matrix here is for isolated molecules"),
    (lambda fr: fr.__setitem__(6, Atoms("C200", positions=np.arange(600).reshape(200, 3) * 0.5)),
     r"frame 6 has up to 200 atoms; molecules of a data set may have at most 150"),
    (lambda fr: fr[0].positions.__setitem__(1, fr[0].positions[0]), r"frame 0 has atoms 0 and 1 0 A apart"),
])
def test_bad_frames_are_refused_in_one_line(tmp_path, mutate, match):
    frames = _frames()
    mutate(frames)
    path = tmp_path / "set.extxyz"
    write(path, frames)
    with pytest.raises(DataError, match=match) as info:
        load_dataset(path, target="gap")
    assert "\n" not in str(info.value)


def test_a_missing_target_names_the_numbers_there_are(extxyz):
    with pytest.raises(DataError, match=r"no frame has a number called 'homo'; numbers every frame has: energy, gap"):
        load_dataset(extxyz, target="homo")


def test_other_numbers_with_gaps_are_left_out_not_refused(tmp_path):
    frames = _frames()
    frames[2].info["gap"] = float("nan")
    write(tmp_path / "set.extxyz", frames)
    assert sorted(load_dataset(tmp_path / "set.extxyz", target="energy").properties) == ["energy"]


@pytest.mark.parametrize("name,content,match", [
    ("junk.extxyz", b"this is not\nan xyz file\n", r"junk.extxyz: ASE cannot read it"),
    ("junk.traj", b"\x00\x01garbage", r"junk.traj: ASE cannot read it"),
    ("junk.db", b"not a database", r"junk.db: ASE cannot read it"),
    ("empty.xyz", b"", r"empty.xyz: "),
])
def test_unreadable_files_get_one_line(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=match) as info:
        load_dataset(path)
    assert "\n" not in str(info.value)


def test_a_missing_file_and_a_side_table_of_the_wrong_length(tmp_path, extxyz):
    with pytest.raises(DataError, match="no such file"):
        load_dataset(tmp_path / "nope.xyz")
    (tmp_path / "set.csv").write_text("x\n1\n2\n")
    with pytest.raises(DataError, match="set.csv: 2 rows for 12 frames"):
        load_dataset(extxyz)


def test_the_data_folder_lists_data_files_not_side_tables(tmp_path, extxyz):
    (tmp_path / "set.csv").write_text("x\n")
    (tmp_path / "notes.txt").write_text("x\n")
    write(tmp_path / "b.traj", _frames(3))
    assert [p.name for p in dataset_files(tmp_path)] == ["b.traj", "set.extxyz"]
    assert dataset_files(tmp_path / "missing") == []


def test_w1_learns_the_same_on_sorted_and_random_matrices_of_a_user_data_set(tmp_path):
    path = tmp_path / "set.extxyz"
    write(path, _frames(n=60, seed=3))
    ds = load_dataset(path, target="energy")
    common = dict(sizes=[10, 20, 40], n_test=20, folds=3, target="energy", device="cpu")
    sorted_ = run_learning_curve(ds, LearningCurveSettings(series=["sorted:w1"], **common))
    random_ = run_learning_curve(ds, LearningCurveSettings(series=["random:w1"], **common))
    for a, b in zip(sorted_.points, random_.points, strict=True):
        assert (a.n_train, a.sigma, a.lam) == (b.n_train, b.sigma, b.lam)
        np.testing.assert_array_equal(a.predictions, b.predictions)
    assert sorted_.data == {"name": "set.extxyz", "sha256": ds.content_hash, "molecules": 60, "max_atoms": 5,
                            "target": "energy", "unit": "eV"}
    assert sorted_.to_json()["data"]["unit"] == "eV"


def test_a_test_set_too_large_for_the_data_set_is_refused_with_the_numbers(extxyz):
    ds = load_dataset(extxyz, target="energy")
    with pytest.raises(ValueError, match="largest training size 8 plus 5 test molecules exceeds the 12 molecules"):
        run_learning_curve(ds, LearningCurveSettings(series=["sorted:w1"], sizes=[4, 8], n_test=5, folds=2,
                                                     target="energy"))
