"""``wqml train`` and ``wqml predict`` (issue 16, item 5): a saved model predicts a molecule from SMILES, a file
or QM9, warns when the molecule lies outside its training set, and refuses what it cannot represent."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from wqml_dash.cli import main
from wqml_dash.core.features.transformers import CoulombMatrix, dataset_molecules
from wqml_dash.core.learn.krr import KernelRidge
from wqml_dash.core.learn.model_io import load_model_with_info, save_model


@pytest.fixture(scope="module")
def model_path(qm9, tmp_path_factory):
    rows = np.random.default_rng(1).permutation(len(qm9))[:200]
    model = make_pipeline(CoulombMatrix("sorted", size=qm9.max_atoms), KernelRidge("w1", center=True))
    model.fit(dataset_molecules(qm9, rows), qm9.energy[rows])
    return save_model(model, tmp_path_factory.mktemp("model") / "w1.npz", target="atomization_energy",
                      unit="kcal/mol", dataset=qm9.identity("atomization_energy"))


def test_a_chlorine_compound_is_predicted_with_a_warning(model_path, capsys):
    assert main(["predict", "--model", str(model_path), "--smiles", "CCCl"]) == 0
    out, err = capsys.readouterr()
    assert "atomization_energy = " in out and "kcal/mol" in out
    lines = [ln for ln in err.splitlines() if ln.startswith("wqml: warning:")]
    assert any("contains Cl, which no training molecule has" in ln for ln in lines)
    assert any("RDKit embedding of the SMILES" in ln and "QM9's DFT geometries" in ln for ln in lines)


def test_a_molecule_larger_than_the_padding_exits_2(model_path, capsys):
    assert main(["predict", "--model", str(model_path), "--smiles", "CCCCCCCCCC"]) == 2  # decane: 32 atoms
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "32 atoms" in err and "at most 29" in err


def test_a_qm9_molecule_by_its_own_number_with_json(model_path, qm9, tmp_path, capsys):
    out_json = tmp_path / "p.json"
    assert main(["predict", "--model", str(model_path), "--qm9", "1000", "--json", str(out_json)]) == 0
    out, err = capsys.readouterr()
    assert "QM9 #1000" in out and "error" in out and "warning" not in err
    data = json.loads(out_json.read_text())
    row = int(np.flatnonzero(qm9.index == 1000)[0])
    assert data["reference"] == pytest.approx(qm9.energy[row]) and data["warnings"] == []
    assert data["unit"] == "kcal/mol" and data["molecule"]["atoms"] == qm9.n_atoms[row]
    assert abs(data["prediction"] - data["reference"]) < 150
    assert main(["predict", "--model", str(model_path), "--qm9", "0"]) == 2  # QM9 counts from 1
    assert "1-based" in capsys.readouterr().err


def test_a_frame_of_a_file_and_json_on_stdout(model_path, qm9, tmp_path, capsys):
    blocks = []
    for number in (1, 2000):
        z, xyz = qm9.molecule(int(np.flatnonzero(qm9.index == number)[0]))
        symbols = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F"}
        blocks.append(f"{len(z)}\nQM9 {number}\n" + "".join(f"{symbols[int(a)]} {x:.6f} {y:.6f} {w:.6f}\n"
                                                          for a, (x, y, w) in zip(z, xyz, strict=True)))
    path = tmp_path / "two.xyz"
    path.write_text("".join(blocks))
    assert main(["predict", "--model", str(model_path), "--file", str(path), "--frame", "1", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["molecule"]["source"].startswith("file:two.xyz") and data["molecule"]["atoms"] == qm9.n_atoms[
        int(np.flatnonzero(qm9.index == 2000)[0])]
    assert any("the file two.xyz" in w for w in data["warnings"]) and "wqml: warning:" in err


def test_bad_inputs_exit_2(model_path, tmp_path, capsys, sorted_cms, qm9, sample_rows):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a model")
    assert main(["predict", "--model", str(junk), "--smiles", "C"]) == 2
    assert "not a wqml-dash model file" in capsys.readouterr().err
    bare = save_model(KernelRidge("l1").fit(sorted_cms[:30], qm9.energy[sample_rows[:30]]), tmp_path / "bare")
    assert main(["predict", "--model", str(bare), "--smiles", "C"]) == 2
    assert "representation vectors, not molecules" in capsys.readouterr().err
    assert main(["predict", "--model", str(model_path), "--smiles", "C", "--frame", "1"]) == 2
    assert main(["predict", "--model", str(model_path), "--smiles", "not a smiles(("]) == 2
    assert "cannot parse" in capsys.readouterr().err


def test_train_saves_a_model_that_predict_uses(tmp_path, capsys):
    path = tmp_path / "trained.npz"
    code = main(["train", "--n", "60", "--test", "20", "--folds", "3", "--series", "sorted:l1", "--model", str(path),
                 "--json", str(tmp_path / "train.json")])
    assert code == 0
    assert "CV MAE" in capsys.readouterr().out
    summary = json.loads((tmp_path / "train.json").read_text())
    model, settings = load_model_with_info(path)
    assert summary["sigma"] == pytest.approx(model[-1].sigma_) and summary["lam"] == model[-1].lam
    assert settings["training"]["representation"]["size"] == 29 and settings["training"]["samples"] == 60
    assert settings["steps"][-1]["selection"]["folds"] == 3
    assert main(["predict", "--model", str(path), "--qm9", "1"]) == 0
    assert "QM9 #1 CH4" in capsys.readouterr().out
    assert main(["train", "--n", "2", "--folds", "3", "--model", str(path)]) == 2
