"""What the command line writes: ``--json -`` on standard output everywhere, the version in every JSON,
one computation per distinct series, and ``--seeds`` with the default store."""

from __future__ import annotations

import json

import pytest

from wqml_dash import __version__
from wqml_dash.cli import main

FAST = ["--sizes", "30,60", "--test", "50", "--folds", "3", "--seed", "1", "--sigma-factors", "1,4,16",
        "--lambdas", "1e-8,1e-4", "--quiet"]


def test_learning_curve_json_to_standard_output_and_the_table_to_standard_error(capsys):
    assert main(["learning-curve", "--series", "sorted:w1", *FAST, "--json", "-"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)  # nothing else on standard output
    assert data["wqml_dash_version"] == __version__
    assert data["data"]["name"] == "QM9" and data["data"]["unit"] == "kcal/mol"
    assert "atomization_energy (kcal/mol) of QM9" in err and "MAE" in err


def test_bench_json_to_standard_output(capsys):
    assert main(["bench", "--n", "16", "--n-peer", "6", "--n-fit", "20", "--repeats", "1", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["wqml_dash_version"] == __version__ and "L1 distances" in err


def test_identical_series_are_computed_once_and_the_user_is_told(tmp_path, capsys):
    out = tmp_path / "w1.json"
    assert main(["learning-curve", "--series", "random:w1", "--series", "sorted:w1", "--series", "random:l1",
                 *FAST, "--json", str(out)]) == 0
    err = capsys.readouterr().err
    assert "random:w1 gives the same results as sorted:w1" in err
    assert json.loads(out.read_text())["config"]["series"] == ["sorted:w1", "random:l1"]


def test_bag_of_bonds_computes_each_metric_once(tmp_path, capsys):
    out = tmp_path / "bob.json"
    assert main(["learning-curve", "--representation", "bob", *FAST, "--json", str(out)]) == 0
    err = capsys.readouterr().err
    assert "random:l1 gives the same results as sorted:l1 (Bag of Bonds does not depend on the atom order)" in err
    data = json.loads(out.read_text())
    assert data["config"]["series"] == ["sorted:l1", "sorted:l2", "sorted:w1"]
    assert len(data["points"]) == 6


def test_seeds_use_the_default_store_when_none_is_given(tmp_path, monkeypatch, capsys):
    store = tmp_path / "default.sqlite"
    monkeypatch.setenv("WQML_STORE", str(store))
    assert main(["learning-curve", "--series", "sorted:w1", *[a for a in FAST if a not in ("--seed", "1")],
                 "--seeds", "0,1", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["wqml_dash_version"] == __version__ and data["run"]["config"]["seeds"] == [0, 1]
    assert store.exists() and len(data["points"]) == 4
    assert "atomization_energy (kcal/mol) of QM9" in err


@pytest.mark.parametrize("argv", [["learning-curve", "--json", "/no/such/folder/x.json"],
                                  ["bench", "--json", "/no/such/folder/x.json"]])
def test_a_json_file_in_a_missing_folder_is_refused(argv, capsys):
    assert main(argv) == 2 and "folder of --json does not exist" in capsys.readouterr().err


def test_scan_json_has_the_version_and_qm9_numbers_count_from_one(capsys):
    assert main(["scan", "--qm9", "1", "--atom", "1", "--n-train", "5", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["wqml_dash_version"] == __version__
    assert data["molecule"]["name"].startswith("QM9 #1 CH4")  # gdb 1 is methane, the library's row 0


def test_one_vocabulary_in_the_learning_curve_json_runs_export_and_the_app_download(tmp_path, capsys):
    import io

    import pandas as pd

    from wqml_dash.runs.export import points_csv
    from wqml_dash.runs.store import RunStore

    local, stored, db = tmp_path / "local.json", tmp_path / "stored.json", tmp_path / "runs.sqlite"
    assert main(["learning-curve", "--series", "sorted:w1", *FAST, "--json", str(local)]) == 0
    assert main(["learning-curve", "--series", "sorted:w1", *FAST, "--store", str(db), "--json", str(stored)]) == 0
    lc, run = json.loads(local.read_text()), json.loads(stored.read_text())
    names = {"n_train", "lambda", "mae", "rmse", "sigma", "cv_mae", "fit_seconds", "predict_seconds", "seconds"}
    assert names <= set(lc["points"][0]) and names <= set(run["points"][0])
    assert not {"size", "lam"} & (set(lc["points"][0]) | set(run["points"][0]))
    store = RunStore(db)
    app_csv = pd.read_csv(io.StringIO(points_csv(store.points(), store.list_runs())))
    assert names <= set(app_csv.columns) and not {"size", "lam"} & set(app_csv.columns)
    capsys.readouterr()
    assert main(["runs", "export", "1", "--store", str(db), "--csv", "-"]) == 0
    cli_csv = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert names <= set(cli_csv.columns) and set(cli_csv["unit"]) == set(app_csv["unit"]) == {"kcal/mol"}
    assert lc["data"]["unit"] == run["unit"] == "kcal/mol" and run["wqml_dash_version"] == __version__
    by_n = {p["n_train"]: p for p in lc["points"]}
    for p in run["points"]:
        ref = by_n[p["n_train"]]
        assert p["mae"] == pytest.approx(ref["mae"], rel=1e-9) and p["lambda"] == ref["lambda"]
