"""``wqml scan``: the JSON schema of the issue, the summary, and exit code 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from wqml_dash.cli import main
from wqml_dash.core.scan.molecule import molecule_from_smiles


def test_scan_json_schema(tmp_path, capsys):
    out = tmp_path / "scan.json"
    code = main(["scan", "--smiles", "O=CO", "--atom", "0", "--axis", "normal", "--range", "-1", "1",
                 "--step", "0.01", "--n-train", "10", "--seed", "0", "--json", str(out)])
    assert code == 0
    summary = capsys.readouterr().out
    assert "swap points  -0.495, +0.495" in summary and "W1" in summary
    data = json.loads(out.read_text())
    assert {"d", "reference", "models", "train_index", "swap_points", "jump_ratio"} <= set(data)
    assert len(data["d"]) == len(data["reference"]) == 201
    assert set(data["models"]) == {"l1_sorted", "w1", "l1_unsorted", "l1_random", "l2_sorted", "l1_sorted_large"}
    assert all(len(v) == 201 for v in data["models"].values())
    assert len(data["train_index"]) == 10 and data["swap_points"] == pytest.approx([-0.495, 0.495])
    assert data["jump_ratio"]["l1_sorted"] > 3 and data["jump_ratio"]["w1"] < 1.2
    assert data["molecule"]["smiles"] == "O=CO" and data["units"]["energy"] == "kcal/mol"


def test_scan_of_a_shipped_example_file(capsys):
    """The README's example: a file shipped in the package, read as --file reads one."""
    code = main(["scan", "--example-file", "pyridine.sdf", "--atom", "2", "--axis", "bond", "--partner", "3",
                 "--models", "l1_sorted,w1", "--json", "-"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["molecule"]["smiles"] == "c1ccncc1" and data["molecule"]["source"] == "file:pyridine.sdf"
    assert len(data["d"]) == 201


def test_scan_from_file_with_bond_axis_and_collisions(tmp_path, capsys):
    path = tmp_path / "ethylene.xyz"
    path.write_text(molecule_from_smiles("C=C").to_xyz())
    code = main(["scan", "--file", str(path), "--atom", "0", "--axis", "bond", "--partner", "1",
                 "--models", "w1", "--reference", "uff", "--json", "-"])
    assert code == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert "geometries left out" in data["notice"] and "notice" in captured.err
    assert data["reference"][-1] is None and not data["valid"][-1]
    assert list(data["models"]) == ["w1"] and data["reference_name"] == "uff"


def test_scan_example_and_manual_hyperparameters(capsys):
    assert main(["scan", "--example", "acrolein", "--models", "l1_sorted,w1", "--sigma", "100",
                 "--lam", "1e-6", "--step", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "moving atom  2 (C) along normal" in out and "100" in out


@pytest.mark.parametrize("argv,message", [
    (["--smiles", "C1CC", "--atom", "0"], "cannot parse the SMILES"),
    (["--smiles", "CCO", "--atom", "9"], "atom 9 does not exist"),
    (["--smiles", "CCO"], "--atom is required"),
    (["--smiles", "CCO", "--atom", "0", "--range", "1", "-1"], "range is empty"),
    (["--smiles", "CCO", "--atom", "0", "--step", "0"], "--step"),
    (["--smiles", "CCO", "--atom", "0", "--n-train", "500"], "valid grid points"),
    (["--smiles", "CCO", "--atom", "0", "--models", "l1_sorted,l9"], "unknown model"),
    (["--smiles", "CCO", "--atom", "0", "--axis", "bond"], "partner"),
    (["--smiles", "CCO", "--atom", "0", "--axis", "custom"], "--vector"),
    (["--smiles", "[SeH2]", "--atom", "0", "--reference", "mmff94", "--axis", "x"], "MMFF94 has no parameters"),
    (["--smiles", "[Xe]", "--atom", "0", "--axis", "x"], "at least two atoms"),
    (["--file", "/nonexistent/m.xyz", "--atom", "0"], "cannot read"),
    (["--qm9", "0", "--atom", "0"], "no molecule #0"),
])
def test_bad_input_exit_2(argv, message, capsys):
    assert main(["scan", *argv]) == 2
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if line.startswith("wqml: error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in err


def test_bad_file_content_exit_2(tmp_path, capsys):
    path = tmp_path / "broken.sdf"
    path.write_text("garbage\n")
    assert main(["scan", "--file", str(path), "--atom", "0"]) == 2
    assert "broken.sdf" in capsys.readouterr().err
    other = tmp_path / "m.cif"
    other.write_text("data_x\n")
    assert main(["scan", "--file", str(other), "--atom", "0"]) == 2  # ASE reads CIF: this one has no structure
    assert "m.cif: ASE found no structure" in capsys.readouterr().err
    notes = tmp_path / "m.abc"
    notes.write_text("data_x\n")
    assert main(["scan", "--file", str(notes), "--atom", "0"]) == 2
    assert "unknown extension '.abc'" in capsys.readouterr().err


def _three_frames(path):
    """Water, methane and ethanol, each with an energy, written by ASE to ``path``; returns the frames."""
    from ase.build import molecule
    from ase.calculators.singlepoint import SinglePointCalculator
    import ase.io

    frames = []
    for k, name in enumerate(("H2O", "CH4", "CH3CH2OH")):
        atoms = molecule(name)
        atoms.calc = SinglePointCalculator(atoms, energy=-1.5 * k)
        frames.append(atoms)
    ase.io.write(path, frames)
    return frames


def test_scan_a_frame_of_a_trajectory(tmp_path, capsys):
    path = tmp_path / "three.extxyz"
    frames = _three_frames(path)
    assert main(["scan", "--file", str(path), "--frame", "2", "--atom", "0", "--models", "w1", "--n-train", "5",
                 "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["molecule"]["source"] == "file:three.extxyz@2"
    np.testing.assert_allclose(data["molecule"]["coords"], frames[2].positions)
    assert main(["scan", "--file", str(path), "--frame", "-1", "--atom", "0", "--models", "w1", "--n-train", "5",
                 "--json", "-"]) == 0  # from the end, as ASE counts
    assert json.loads(capsys.readouterr().out)["molecule"]["source"] == "file:three.extxyz@2"


@pytest.mark.parametrize(("argv", "message"), [
    (["--frame", "3"], "three.extxyz: there is no frame 3; it has 3 frames, 0 to 2"),
    (["--frame", "-4"], "there is no frame -4"),
])
def test_a_frame_out_of_range_exit_2(tmp_path, capsys, argv, message):
    path = tmp_path / "three.extxyz"
    _three_frames(path)
    assert main(["scan", "--file", str(path), "--atom", "0", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("wqml: error:") and message in err, err


def test_frame_needs_a_file(capsys):
    assert main(["scan", "--smiles", "CCO", "--atom", "0", "--frame", "1"]) == 2
    assert "--frame chooses a frame of a --file" in capsys.readouterr().err


def test_scan_subprocess(tmp_path):
    out = tmp_path / "s.json"
    proc = subprocess.run([sys.executable, "-m", "wqml_dash.cli", "scan", "--smiles", "C=O", "--atom", "0",
                           "--models", "w1", "--step", "0.1", "--json", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert np.isfinite(json.loads(out.read_text())["models"]["w1"]).all()
    bad = subprocess.run([sys.executable, "-m", "wqml_dash.cli", "scan", "--smiles", "C1CC", "--atom", "0"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("wqml: error:")


def test_scan_reports_tie_points(capsys):
    # Butadiene at d = 0: the inner carbons' rows tie (see tests/core/test_teaching_examples.py).
    assert main(["scan", "--example", "butadiene", "--models", "l1_sorted,w1", "--json", "-"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["tie_points"] == [0.0] and data["tie_index"] == [100]
    assert data["swap_points"] == pytest.approx([-0.305, 0.305])
    assert "tie points   +0.000 Å" in captured.err and "swap points  -0.305, +0.305 Å" in captured.err


def test_scan_csv_has_the_setup_and_units(tmp_path, capsys):
    import pandas as pd

    path = tmp_path / "scan.csv"
    assert main(["scan", "--example", "formic_acid", "--models", "l1_sorted,w1", "--seed", "2",
                 "--csv", str(path)]) == 0
    text = path.read_text()
    assert "# moving atom: 0 (O)" in text and "training points: 10, seed 2" in text
    assert "# model w1 (W1): sigma = " in text and "lambda = " in text
    frame = pd.read_csv(path, comment="#")
    assert frame.columns[:4].tolist() == ["d [Angstrom]", "reference [kcal/mol]", "l1_sorted [kcal/mol]",
                                          "w1 [kcal/mol]"]
    assert main(["scan", "--example", "formic_acid", "--csv", str(tmp_path / "no" / "such" / "dir.csv")]) == 2
