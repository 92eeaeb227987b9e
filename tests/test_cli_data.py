"""``wqml learning-curve --data`` and ``wqml data --data``: your own data set on the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from wqml_dash.cli import main
from wqml_dash.runs.store import RunStore

FAST = ["--sizes", "15,30", "--test", "20", "--folds", "3", "--seed", "1", "--quiet"]


def _frames(n=60, seed=0):
    """Ethane-like and water-like molecules with jittered geometries; energy in eV, 'gap' in info."""
    rng = np.random.default_rng(seed)
    ethane = np.array([[0, 0, 0], [1.54, 0, 0], [-0.4, 1.0, 0], [-0.4, -0.5, 0.9], [-0.4, -0.5, -0.9],
                       [1.94, 1.0, 0], [1.94, -0.5, 0.9], [1.94, -0.5, -0.9]])
    water = np.array([[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47]])
    frames = []
    for i in range(n):
        symbols, xyz = ("C2H6", ethane) if i % 3 else ("OH2", water)
        a = Atoms(symbols, positions=xyz + rng.normal(0, 0.05, xyz.shape))
        a.info["gap"] = float(0.3 + 0.05 * np.sin(i))
        a.calc = SinglePointCalculator(a, energy=float(-5.0 * len(a) + rng.normal(0, 0.1)))
        frames.append(a)
    return frames


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "mols.extxyz"
    write(path, _frames())
    return path


def test_learning_curve_on_a_data_file_prints_the_unit_and_records_the_data(data_file, tmp_path, capsys):
    out = tmp_path / "lc.json"
    assert main(["learning-curve", "--data", str(data_file), "--series", "sorted:w1", "--series", "random:w1",
                 "--series", "sorted:l1", *FAST, "--json", str(out)]) == 0
    text, err = capsys.readouterr()
    assert "random:w1 gives the same results as sorted:w1" in err
    assert text.splitlines()[0].startswith("energy (eV) of mols.extxyz: 60 molecules, up to 8 atoms, content ")
    result = json.loads(out.read_text())
    assert result["config"]["target"] == "energy"
    assert result["data"]["name"] == "mols.extxyz" and result["data"]["unit"] == "eV"
    assert len(result["data"]["sha256"]) == 64 and result["data"]["molecules"] == 60
    assert result["config"]["series"] == ["sorted:w1", "sorted:l1"]  # random:w1 is sorted:w1: computed once
    assert all(np.isfinite(p["mae"]) and p["mae"] > 0 for p in result["points"])


def test_an_info_key_target_with_a_unit(data_file, tmp_path):
    out = tmp_path / "gap.json"
    assert main(["learning-curve", "--data", str(data_file), "--target", "gap", "--unit", "hartree",
                 "--series", "sorted:w1", *FAST, "--json", str(out)]) == 0
    assert json.loads(out.read_text())["data"]["unit"] == "Ha"


def test_wqml_data_summarises_a_file(data_file, capsys):
    assert main(["data", "--data", str(data_file)]) == 0
    out = capsys.readouterr().out
    assert "molecules   60 (frames)" in out and "elements    H, C, O" in out
    assert "energy (eV), gap (unit not given)" in out and "sha256" in out


def _write(tmp_path, frames, name="bad.extxyz"):
    path = tmp_path / name
    write(path, frames)
    return path


def _nan_target(fr):
    fr[7].info["gap"] = float("nan")


def _periodic(fr):
    fr[2].set_cell([8, 8, 8])
    fr[2].set_pbc(True)


def _no_target(fr):
    del fr[9].info["gap"]


def _too_big(fr):
    fr[4] = Atoms("C160", positions=np.arange(480).reshape(160, 3) * 0.7)


@pytest.mark.parametrize("mutate,extra,message", [
    (_nan_target, ["--target", "gap"], "mols.extxyz: the target 'gap' is NaN or infinite in frame 7"),
    (_periodic, [], "frame 2 is periodic (pbc TTT); the Coulomb matrix here is for isolated molecules"),
    (_no_target, ["--target", "gap"], "frame 9 has no 'gap' (the other frames do)"),
    (_too_big, [], "frame 4 has up to 160 atoms; molecules of a data set may have at most 150"),
    (None, ["--target", "homo"], "no frame has a number called 'homo'; numbers every frame has: energy, gap"),
    (None, ["--sizes", "30,50", "--test", "20"], "mols.extxyz: largest training size 50 plus 20 test molecules "
                                                 "exceeds the 60 molecules available"),
])
@pytest.mark.parametrize("store", [False, True])
def test_bad_data_exits_2_with_one_line_and_stores_nothing(tmp_path, capsys, mutate, extra, message, store):
    frames = _frames()
    if mutate is not None:
        mutate(frames)
    path = _write(tmp_path, frames, "mols.extxyz")
    db = tmp_path / "runs.sqlite"
    argv = ["learning-curve", "--data", str(path), "--series", "sorted:w1", *FAST, *extra]
    code = main(argv + (["--store", str(db)] if store else []))
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1, err
    if store and db.exists():
        assert RunStore(db).list_runs().empty


@pytest.mark.parametrize("argv,message", [
    (["learning-curve", "--unit", "eV", "--quiet"], "--unit applies to --data only"),
    (["learning-curve", "--data", "/no/such/file.extxyz", "--quiet"], "/no/such/file.extxyz: no such file"),
    (["learning-curve", "--target", "energy", "--quiet"], "--target 'energy' is not a QM9 property"),
    (["data", "--target", "gap"], "--target applies to --data only"),
])
def test_data_options_misused_exit_2(argv, message, capsys):
    assert main(argv) == 2 and message in capsys.readouterr().err


def test_atom_energies_must_be_symbol_energy_pairs(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["learning-curve", "--atom-energies", "H=x", "--quiet"])
    assert exc.value.code == 2 and "SYMBOL=ENERGY" in capsys.readouterr().err


def test_a_worker_refuses_a_data_file_that_changed_since_the_run_was_submitted(tmp_path, monkeypatch):
    from wqml_dash.core.data import DataError, load_dataset
    from wqml_dash.runs.config import RunConfig, data_reference
    from wqml_dash.runs.tasks import test_set

    path = _write(tmp_path, _frames(), "mols.extxyz")
    cfg = RunConfig(target="energy", sizes=[20], n_test=10, data=data_reference(load_dataset(path), path, "energy"))
    rows, y = test_set(cfg.to_dict(), 0)
    assert rows.shape == (10,) and set(rows) <= set(range(60))  # frame numbers
    frames = _frames()
    frames[0].positions[0, 0] += 0.01
    write(path, frames)
    monkeypatch.setattr("wqml_dash.runs.tasks._datasets", {})  # a worker that has not loaded it yet
    with pytest.raises(DataError, match="mols.extxyz has changed since the run was submitted"):
        test_set(cfg.to_dict(), 0)


def test_an_unreadable_file_exits_2(tmp_path, capsys):
    path = tmp_path / "junk.extxyz"
    path.write_text("3\nnot\nan xyz\n")
    assert main(["learning-curve", "--data", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "junk.extxyz: ASE cannot read it" in err and len(err.strip().splitlines()) == 1


def test_a_stored_run_on_a_data_file_records_it_by_name_and_content_hash(data_file, tmp_path, capsys):
    db = tmp_path / "runs.sqlite"
    out = tmp_path / "run.json"
    assert main(["learning-curve", "--data", str(data_file), "--series", "sorted:w1", *FAST,
                 "--store", str(db), "--json", str(out)]) == 0
    run = json.loads(out.read_text())
    data = run["run"]["config"]["data"]
    assert data["name"] == "mols.extxyz" and data["path"] == str(data_file.resolve())
    assert data["unit"] == "eV" and data["molecules"] == 60 and len(data["sha256"]) == 64
    assert run["run"]["status"] == "finished" and len(run["points"]) == 2
    local = tmp_path / "local.json"
    assert main(["learning-curve", "--data", str(data_file), "--series", "sorted:w1", *FAST, "--json",
                 str(local)]) == 0
    maes = sorted(p["mae"] for p in json.loads(local.read_text())["points"])
    assert sorted(p["mae"] for p in run["points"]) == pytest.approx(maes, rel=1e-9)
    assert data["sha256"] == json.loads(local.read_text())["data"]["sha256"]


def test_runs_list_names_the_data_set_of_a_run(data_file, tmp_path, capsys):
    db = tmp_path / "runs.sqlite"
    assert main(["learning-curve", "--data", str(data_file), "--series", "sorted:w1", *FAST, "--store", str(db),
                 "--name", "mine"]) == 0
    capsys.readouterr()
    assert main(["runs", "list", "--store", str(db)]) == 0
    assert "mine [mols.extxyz]" in capsys.readouterr().out
