"""The ``wqml`` command line: JSON output and exit code 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from wqml_dash.cli import main

FAST = ["--sizes", "40,80", "--test", "100", "--folds", "3", "--seed", "2",
        "--sigma-factors", "1,4,16", "--lambdas", "1e-8,1e-4", "--quiet"]


def test_learning_curve_json(tmp_path, capsys):
    out = tmp_path / "lc.json"
    code = main(["learning-curve", "--order", "sorted", "--metric", "l1", "--metric", "w1",
                 *FAST, "--json", str(out)])
    assert code == 0
    table = capsys.readouterr().out
    assert "MAE" in table and "sorted" in table
    data = json.loads(out.read_text())
    assert data["config"]["series"] == ["sorted:l1", "sorted:w1"]
    assert data["config"]["sizes"] == [40, 80] and data["config"]["n_test"] == 100
    points = data["points"]
    assert [(p["order"], p["metric"], p["n_train"]) for p in points] == [
        ("sorted", "l1", 40), ("sorted", "l1", 80), ("sorted", "w1", 40), ("sorted", "w1", 80)]
    for p in points:
        assert {"order", "metric", "n_train", "mae", "rmse", "sigma", "lambda", "seconds"} <= set(p)
        assert p["mae"] > 0 and p["rmse"] >= p["mae"] and p["sigma"] > 0


def test_series_flag_and_default_paper_series(tmp_path):
    out = tmp_path / "a.json"
    assert main(["learning-curve", "--series", "random:l2", *FAST, "--json", str(out)]) == 0
    assert json.loads(out.read_text())["config"]["series"] == ["random:l2"]


@pytest.mark.parametrize("argv,message", [
    (["learning-curve", "--order", "bogus"], "invalid choice"),
    (["learning-curve", "--metric", "l3"], "invalid choice"),
    (["learning-curve", "--sizes", "10,abc"], "comma-separated integers"),
    (["learning-curve", "--sizes", "0"], "positive"),
    (["learning-curve", "--folds", "1"], "at least 2"),
    (["learning-curve", "--test", "0"], "at least 1"),
    (["learning-curve", "--sizes", "200000"], "exceeds"),
    (["learning-curve", "--series", "sorted"], "ORDER:METRIC"),
    (["learning-curve", "--series", "sorted:l1", "--order", "random"], "not both"),
    (["learning-curve", "--target", "colour"], "--target 'colour' is not a QM9 property"),
    (["learning-curve", "--lambdas", "nan"], "finite"),
    (["learning-curve", "--json", "/no/such/folder/x.json"], "does not exist"),
    (["learning-curve", "--device", "tpu"], "invalid choice"),
    (["learning-curve", "--search", "random"], "invalid choice"),
    (["data", "--release", "/no/such/file.tar"], "No such file"),
    ([], "required"),
])
def test_bad_input_exits_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        sys.exit(main(argv + ["--quiet"] if argv and argv[0] == "learning-curve" else argv))
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_console_script_runs_in_a_subprocess(tmp_path):
    """The installed entry point, as a user types it."""
    proc = subprocess.run([sys.executable, "-m", "wqml_dash.cli", "learning-curve", "--sizes", "x"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "error" in proc.stderr and "Traceback" not in proc.stderr


def test_data_summary(capsys):
    assert main(["data"]) == 0
    out = capsys.readouterr().out
    assert "130831" in out and "kcal/mol" in out


def test_cuda_without_a_gpu_is_a_usage_error(capsys):
    from wqml_dash.core.learn.backends import cuda_available

    if cuda_available():
        pytest.skip("this machine has a CUDA device")
    assert main(["learning-curve", "--device", "cuda", "--sizes", "20", "--test", "10"]) == 2
    assert "cuda" in capsys.readouterr().err
