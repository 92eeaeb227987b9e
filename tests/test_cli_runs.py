"""``wqml learning-curve --store/--scheduler`` and ``wqml runs ...``: the store from a terminal."""

from __future__ import annotations

import csv
import json
import socket
import sqlite3
import sys

import pytest

from wqml_dash.cli import main
from wqml_dash.runs import cluster as cluster_module
from wqml_dash.runs.config import RunConfig
from wqml_dash.runs.store import RunStore

FAST = ["--sizes", "40,80", "--test", "100", "--folds", "3", "--sigma-factors", "1,4,16",
        "--lambdas", "1e-8,1e-4", "--quiet"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A store with one run made by the CLI, and the same curve computed in-process."""
    folder = tmp_path_factory.mktemp("cli-store")
    path = folder / "runs.sqlite"
    code = main(["learning-curve", "--series", "sorted:l1", "--series", "sorted:w1", *FAST, "--seeds", "2,3",
                 "--store", str(path), "--name", "cli run", "--json", str(folder / "run.json")])
    assert code == 0
    refs = {}
    for seed in (2, 3):
        out = folder / f"ref{seed}.json"
        assert main(["learning-curve", "--series", "sorted:l1", "--series", "sorted:w1", *FAST, "--seed", str(seed),
                     "--json", str(out)]) == 0
        refs[seed] = json.loads(out.read_text())
    return path, refs, json.loads((folder / "run.json").read_text())


def test_store_run_matches_in_process_run(stored):
    path, refs, run_json = stored
    assert run_json["run"]["name"] == "cli run" and run_json["run"]["status"] == "finished"
    assert run_json["run"]["config"]["seeds"] == [2, 3]
    points = {(p["series"], p["n_train"], p["seed"]): p for p in run_json["points"]}
    assert len(points) == 8
    for seed, ref in refs.items():
        for p in ref["points"]:
            stored_point = points[(f"{p['order']}:{p['metric']}", p["n_train"], seed)]
            assert stored_point["mae"] == pytest.approx(p["mae"], rel=1e-9)
            assert stored_point["lambda"] == p["lambda"]


def test_runs_list_and_show(stored, capsys):
    path, _, _ = stored
    capsys.readouterr()
    assert main(["runs", "list", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert "finished" in out and "8/8" in out and "cli run" in out
    assert main(["runs", "list", "--store", str(path), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in runs if not r["reference"]] == [1] and runs[0]["n_done"] == 8
    assert [r["id"] for r in runs if r["reference"]][:1] == ["R1"]
    assert main(["runs", "show", "1", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert "run 1: cli run" in out and "seeds          [2, 3]" in out
    assert "target    atomization_energy (kcal/mol) of QM9" in out
    assert "MAE mean" in out  # several seeds: a summary with the spread
    assert out.count("sorted:w1") >= 6


def test_runs_export_csv_and_json(stored, tmp_path, capsys):
    path, _, run_json = stored
    csv_path, json_path = tmp_path / "p.csv", tmp_path / "p.json"
    assert main(["runs", "export", "1", "--store", str(path), "--csv", str(csv_path), "--json", str(json_path)]) == 0
    rows = list(csv.DictReader(csv_path.open()))
    assert len(rows) == 8
    assert set(rows[0]) >= {"run_id", "series", "order", "metric", "n_train", "seed", "mae", "rmse", "sigma",
                            "lambda", "seconds", "finished", "target", "unit"}
    assert "size" not in rows[0] and "lam" not in rows[0] and rows[0]["unit"] == "kcal/mol"
    by_key = {(p["series"], p["n_train"], p["seed"]): p["mae"] for p in run_json["points"]}
    for r in rows:
        assert float(r["mae"]) == pytest.approx(by_key[(r["series"], int(r["n_train"]), int(r["seed"]))], rel=1e-12)
    exported = json.loads(json_path.read_text())
    assert exported["points"] == run_json["points"]
    assert (exported["target"], exported["unit"], exported["data"]) == ("atomization_energy", "kcal/mol", "QM9")
    assert "8 points written" in capsys.readouterr().err


def test_reference_runs_are_listed_shown_and_exported_read_only(tmp_path, capsys):
    from wqml_dash.runs.reference import reference_points, reference_runs

    path = tmp_path / "empty.sqlite"
    RunStore(path)
    assert main(["runs", "list", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert "no runs in" in out and "reference runs (shipped with wqml-dash, read-only" in out
    first = reference_runs().iloc[0]
    assert "  R1  finished" in out and first["name"] in out
    assert main(["runs", "show", "r1", "--store", str(path)]) == 0
    out = capsys.readouterr().out
    assert "run R1: " in out and "(reference, shipped with wqml-dash, read-only)" in out
    assert "wqml learning-curve" in out and "wall time" in out
    csv_path, json_path = tmp_path / "r1.csv", tmp_path / "r1.json"
    assert main(["runs", "export", "R1", "--store", str(path), "--csv", str(csv_path), "--json", str(json_path)]) == 0
    rows = list(csv.DictReader(csv_path.open()))
    ref = reference_points(-1)
    assert len(rows) == len(ref) and {r["run_id"] for r in rows} == {"-1"}
    exported = json.loads(json_path.read_text())
    assert exported["run"]["id"] == "R1" and exported["run"]["provenance"]["wall_seconds"] > 0
    assert exported["run"]["provenance"]["machine"]["nproc"] >= 1
    assert [p["mae"] for p in exported["points"]] == pytest.approx(ref["mae"].tolist(), rel=1e-15)


def test_resume_and_delete(tmp_path, capsys):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    cfg = RunConfig(series=["sorted:l1"], sizes=[40, 80], n_test=100, folds=3, sigma_factors=[1.0, 4.0],
                    lambdas=[1e-8])
    run_id = store.create_run(cfg)
    store.set_status(run_id, "running")  # owned by this live process: not to be deleted or resumed
    assert main(["runs", "delete", str(run_id), "--store", str(path)]) == 2
    assert "running in process" in capsys.readouterr().err
    assert main(["runs", "resume", str(run_id), "--store", str(path)]) == 2
    assert "in another process" in capsys.readouterr().err
    with sqlite3.connect(path) as conn:  # its process died
        conn.execute("UPDATE runs SET owner = ? WHERE id = ?", (f"{socket.gethostname()}:1:1.0", run_id))
    assert main(["runs", "resume", str(run_id), "--store", str(path), "--quiet"]) == 0
    assert store.get_run(run_id)["status"] == "finished" and store.get_run(run_id)["n_done"] == 2
    assert main(["runs", "resume", str(run_id), "--store", str(path)]) == 0
    assert "finished already" in capsys.readouterr().err
    assert main(["runs", "delete", str(run_id), "--store", str(path)]) == 0
    assert store.list_runs().empty


@pytest.mark.parametrize("argv,message", [
    (["runs", "show", "99"], "no run 99"),
    (["runs", "export", "99", "--csv", "-"], "no run 99"),
    (["runs", "delete", "99"], "no run 99"),
    (["runs", "resume", "99"], "no run 99"),
    (["runs", "show", "abc"], "a run id is a positive whole number"),
    (["runs", "show", "R99"], "no reference run R99"),
    (["runs", "show", "Rx"], "a reference run is R1, R2"),
    (["runs", "delete", "R1"], "R1 is a reference run shipped with wqml-dash: it cannot be deleted"),
    (["runs", "resume", "R1"], "R1 is a reference run shipped with wqml-dash: it cannot be resumed"),
    (["runs", "export", "1"], "--csv PATH and/or --json PATH"),
    (["runs", "export", "1", "--csv", "/no/such/folder/p.csv"], "folder does not exist"),
    (["runs", "bogus"], "invalid choice"),
])
def test_runs_bad_input_exits_2(stored, argv, message, capsys):
    path, _, _ = stored
    with pytest.raises(SystemExit) as exc:
        sys.exit(main([*argv, "--store", str(path)]))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("argv,message", [
    (["runs", "list", "--store", "/no/such/folder/runs.sqlite"], "no run store at"),
    (["learning-curve", *FAST, "--seeds", "1,x", "--store", "x.sqlite"], "comma-separated integers"),
    (["learning-curve", *FAST, "--seed", "1", "--seeds", "1,2", "--store", "x.sqlite"], "not both"),
    (["learning-curve", *FAST, "--representation", "soap"], "invalid choice"),
])
def test_store_bad_input_exits_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        sys.exit(main(argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_store_that_is_not_one(tmp_path, capsys):
    bogus = tmp_path / "notes.sqlite"
    bogus.write_text("not a database " * 100)
    assert main(["runs", "list", "--store", str(bogus)]) == 2
    assert "cannot use" in capsys.readouterr().err


def test_unreachable_scheduler_is_a_usage_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = main(["learning-curve", *FAST, "--store", str(tmp_path / "r.sqlite"),
                 "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert code == 2
    assert "cannot reach the Dask scheduler" in capsys.readouterr().err


def test_bag_of_bonds_in_process(tmp_path):
    out = tmp_path / "bob.json"
    assert main(["learning-curve", "--series", "sorted:w1", *FAST, "--representation", "bob", "--json",
                 str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["config"]["representation"] == "bob" and len(data["points"]) == 2


def test_resume_a_run_of_another_host_needs_force(tmp_path, capsys):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    run_id = store.create_run(RunConfig(series=["sorted:w1"], sizes=[40], n_test=100, folds=3,
                                        sigma_factors=[1.0, 4.0], lambdas=[1e-8]))
    store.set_status(run_id, "running")
    with sqlite3.connect(path) as conn:  # a process on a machine we cannot check
        conn.execute("UPDATE runs SET owner = 'cluster-node-7:4242:1.0' WHERE id = ?", (run_id,))
    assert main(["runs", "resume", str(run_id), "--store", str(path), "--quiet"]) == 2
    assert "pass --force" in capsys.readouterr().err
    assert main(["runs", "resume", str(run_id), "--store", str(path), "--quiet", "--force"]) == 0
    assert store.get_run(run_id)["status"] == "finished"
