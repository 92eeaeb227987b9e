"""Bad input on the command line: exit code 2 and one error line, never a traceback.

The CLI's format: our own checks print ``wqml: error: MESSAGE``; argparse's checks print the
usage and ``wqml SUBCOMMAND: error: MESSAGE``. Either way the last stderr line is the error and
the exit code is 2 (`EXIT_USAGE`).
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from wqml_dash.cli import EXIT_USAGE, main

ERROR_LINE = re.compile(r"^wqml( [a-z-]+)*: error: \S")
SCAN = ["scan", "--smiles", "O=CO", "--atom", "0"]


def run_cli(argv, capsys) -> tuple[int, str]:
    """Exit code and stderr of ``wqml argv``, run in-process."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse exits itself
        code = exc.code
    err = capsys.readouterr().err
    return code, err


def assert_usage_error(argv, capsys, match: str | None = None) -> str:
    code, err = run_cli(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == EXIT_USAGE, (argv, code, err)
    assert "Traceback" not in err, err
    assert lines and ERROR_LINE.match(lines[-1]), err
    if not lines[0].startswith("usage:"):  # our own message (argparse's come after the usage): one line only
        assert len(lines) == 1, err
    if match is not None:
        assert match.lower() in lines[-1].lower(), (match, lines[-1])
    return lines[-1]


@pytest.mark.parametrize(("extra", "match"), [
    # numbers: negative, zero, NaN, inf, huge, not numbers
    (["--sigma", "-1"], "--sigma"), (["--sigma", "0"], "--sigma"), (["--sigma", "nan"], "--sigma"),
    (["--sigma", "inf"], "sigma must be a finite number"), (["--sigma", "abc"], "--sigma"),
    (["--lam", "-1"], "--lam"), (["--lam", "nan"], "--lam"), (["--lam", "inf"], "lambda must be a finite"),
    (["--step", "0"], "--step"), (["--step", "-0.1"], "--step"), (["--step", "nan"], "--step"),
    (["--step", "1e9"], "--step"), (["--step", "x"], "--step"),
    (["--range", "1", "-1"], "range is empty"), (["--range", "nan", "1"], "finite"),
    (["--range", "0", "inf"], "finite"), (["--range", "0", "1e300"], "too many"), (["--range", "0"], "--range"),
    (["--n-train", "0"], "--n-train"), (["--n-train", "-3"], "--n-train"), (["--n-train", "1"], "--n-train"),
    (["--n-train", "100000"], "only 201 valid grid points"), (["--n-train", "2.5"], "--n-train"),
    (["--n-train-large", "0"], "--n-train-large"), (["--seed", "-1"], "--seed"), (["--seed", "x"], "--seed"),
    (["--min-distance", "-1"], "--min-distance"), (["--min-distance", "nan"], "--min-distance"),
    (["--min-distance", "inf"], "finite"), (["--min-distance", "100"], "every geometry"),
    # atoms, axes, models, references
    (["--atom", "99"], "atom 99 does not exist"), (["--atom", "-1"], "--atom"),
    (["--axis", "bond", "--partner", "99"], "partner 99"), (["--axis", "bond", "--partner", "-1"], "partner -1"),
    (["--axis", "bond", "--partner", "0"], "must differ"), (["--axis", "custom"], "--vector"),
    (["--axis", "custom", "--vector", "0,0,0"], "non-zero"), (["--axis", "custom", "--vector", "nan,0,0"], "finite"),
    (["--axis", "custom", "--vector", "1,2"], "three numbers"), (["--axis", "custom", "--vector", "a,b,c"], "--vector"),
    (["--axis", "sideways"], "--axis"), (["--models", "l3"], "unknown model"), (["--models", ","], "unknown model"),
    (["--reference", "dft"], "--reference"),
    (["--json", "/nonexistent-folder/x.json"], "cannot write"),
])
def test_scan_numbers_and_choices(extra, match, capsys):
    assert_usage_error([*SCAN, *extra], capsys, match)


@pytest.mark.parametrize(("argv", "match"), [
    (["scan", "--smiles", "", "--atom", "0"], "empty SMILES"),
    (["scan", "--smiles", "C1CC", "--atom", "0"], "cannot parse"),
    (["scan", "--smiles", "[Xe]", "--atom", "0"], "at least two atoms"),
    (["scan", "--smiles", "C" * 120, "--atom", "0"], "at most 300"),
    (["scan", "--smiles", "[Xe]F", "--atom", "0", "--reference", "lj_uff"], "Z = [54]"),
    (["scan", "--smiles", "[Xe]F", "--atom", "0", "--reference", "mmff94"], "MMFF94"),
    (["scan", "--smiles", "O=CO"], "--atom is required"),
    (["scan", "--atom", "0"], "one of the arguments"),
    (["scan", "--smiles", "C", "--qm9", "1", "--atom", "0"], "not allowed"),
    (["scan", "--example", "nope"], "--example"),
    (["scan", "--qm9", "x", "--atom", "0"], "--qm9"),
    (["scan", "--file", "/nonexistent/file.xyz", "--atom", "0"], "cannot read"),
    (["scan", "--file", "/", "--atom", "0"], "cannot read"),
    (["scan", "--file", "/dev/zero", "--atom", "0"], "larger than"),  # read up to the limit only, never forever
])
def test_scan_molecules(argv, match, capsys):
    assert_usage_error(argv, capsys, match)


@pytest.mark.parametrize(("content", "name", "match"), ids=lambda v: v if isinstance(v, str) else None, argvalues=[
    (b"", "empty.xyz", "empty"), (b"\xff\xfe\x00binary", "bin.xyz", "not a text file"),
    (b"2\n\nH nan 0 0\nH 0 0 0\n", "nan.xyz", "finite"), (b"2\n\nH 1e999 0 0\nH 0 0 0\n", "inf.xyz", "finite"),
    (b"2\n\nH 0 0 0\nH 0 0 0\n", "same.xyz", "same position"), (b"1\n\nHe 0 0 0\n", "one.xyz", "two atoms"),
    (b"x" * ((1 << 20) + 1), "huge.xyz", "1 MiB"), (b"3\nwater\nO 0 0 0.1\nH 0 0.7 -0.4\nH 0 -0.7 -0.4\n",
                                                    "water.sdf", "looks like an XYZ"),
    (b"garbage", "notes.txt", "unknown extension"),
])
def test_scan_files(tmp_path, content, name, match, capsys):
    path = tmp_path / name
    path.write_bytes(content)
    assert_usage_error(["scan", "--file", str(path), "--atom", "0"], capsys, match)


@pytest.mark.parametrize(("argv", "match"), [
    (["--sizes", "0"], "--sizes"), (["--sizes", "-1"], "--sizes"), (["--sizes", "abc"], "--sizes"),
    (["--sizes", "1e9"], "--sizes"), (["--sizes", ""], "--sizes"), (["--sizes", "200000"], "exceeds"),
    (["--test", "0"], "n_test"), (["--test", "-1"], "n_test"), (["--test", "nan"], "--test"),
    (["--test", "200000", "--sizes", "10"], "exceeds"), (["--folds", "1"], "folds"), (["--folds", "100"], "folds"),
    (["--sizes", "2,3", "--folds", "5"], "folds"), (["--seed", "-1"], "seed"), (["--seed", "x"], "--seed"),
    (["--sigma-factors", "nan"], "--sigma-factors"), (["--sigma-factors", "inf"], "--sigma-factors"),
    (["--sigma-factors", "0"], "sigma factors"), (["--sigma-factors", "-1"], "sigma factors"),
    (["--lambdas", "-1"], "lambdas"), (["--lambdas", "x"], "--lambdas"), (["--series", "foo"], "ORDER:METRIC"),
    (["--series", "sorted:l3"], "ORDER:METRIC"), (["--series", "sorted:l1", "--order", "random"], "either"),
    (["--target", "colour"], "--target"), (["--device", "tpu"], "--device"),
    (["--seeds", "-1"], "--seeds"), (["--seed", "1", "--seeds", "1,2", "--store", "x"],
                                                                       "either --seed or --seeds"),
])
def test_learning_curve_arguments(argv, match, capsys):
    assert_usage_error(["learning-curve", "--quiet", *argv], capsys, match)


def test_learning_curve_through_the_store_checks_before_starting(tmp_path, capsys):
    store = str(tmp_path / "runs.sqlite")
    assert_usage_error(["learning-curve", "--seeds", "1,1", "--store", store], capsys, "differ")
    assert_usage_error(["learning-curve", "--sizes", "200000", "--store", store], capsys, "exceeds")
    assert_usage_error(["learning-curve", "--json", "/nonexistent-folder/x.json", "--sizes", "10"], capsys, "folder")


@pytest.mark.parametrize("argv_fn", [
    lambda d: ["runs", "list", "--store", str(d / "missing.sqlite")],
    lambda d: ["runs", "list", "--store", str(d)],
    lambda d: ["runs", "show", "abc", "--store", str(d / "missing.sqlite")],
    lambda d: ["runs", "show", "-1", "--store", str(d / "store.sqlite")],
    lambda d: ["runs", "show", "99999999999999999999999", "--store", str(d / "store.sqlite")],
    lambda d: ["runs", "export", "1", "--store", str(d / "store.sqlite")],
    lambda d: ["runs", "export", "1", "--csv", str(d / "no" / "x.csv"), "--store", str(d / "store.sqlite")],
    lambda d: ["runs", "delete", "7", "--store", str(d / "store.sqlite")],
    lambda d: ["runs", "resume", "7", "--store", str(d / "store.sqlite")],
    lambda d: ["runs", "list", "--store", str(d / "not-a-db.sqlite")],
    lambda d: ["runs"],
    lambda d: ["runs", "frobnicate"],
])
def test_runs_arguments(tmp_path, argv_fn, capsys):
    from wqml_dash.runs.store import RunStore

    RunStore(tmp_path / "store.sqlite")  # an empty store
    (tmp_path / "not-a-db.sqlite").write_bytes(b"this is not SQLite" * 100)
    assert_usage_error(argv_fn(tmp_path), capsys)


@pytest.mark.parametrize(("argv", "match"), [
    (["bench", "--n", "0"], "--n"), (["bench", "--n", "-5"], "--n"), (["bench", "--n", "nan"], "--n"),
    (["bench", "--n", "1e3"], "--n"), (["bench", "--n", "1000000"], "exceed"),
    (["bench", "--repeats", "0"], "--repeats"),
    (["bench", "--n-peer", "-1"], "--n-peer"), (["bench", "--n-fit", "1"], "--n-fit"),
    (["bench", "--json", "/nonexistent-folder/x.json"], "folder"),
    (["data", "--exclude-file", "x"], "--release only"), (["data", "--release", "/nonexistent.tar"], "cannot read"),
    (["data", "--release", "/etc/hostname"], "not a tar archive"), (["frobnicate"], "invalid choice"), ([], "required"),
])
def test_bench_data_and_top_level(argv, match, capsys):
    assert_usage_error(argv, capsys, match)


def test_the_installed_entry_point_prints_no_traceback(tmp_path):
    bad = tmp_path / "bad.xyz"
    bad.write_bytes(b"2\n\nH nan 0 0\nH 0 0 0\n")
    for argv in (["scan", "--file", str(bad), "--atom", "0"],
                 ["scan", "--smiles", "O=CO", "--atom", "0", "--sigma", "-1"]):
        proc = subprocess.run([sys.executable, "-m", "wqml_dash.cli", *argv], capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == EXIT_USAGE and "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines()[-1].startswith("wqml: error:")
