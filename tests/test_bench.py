"""`wqml bench`: every implementation agrees with ours; the table and JSON carry the figures."""

from __future__ import annotations

import json

import pytest

from wqml_dash.bench import format_rows, run_bench
from wqml_dash.cli import main


def test_bench_rows_agree_and_are_complete():
    rows = run_bench(n=64, n_peer=12, n_fit=80, repeats=1)
    tasks = {r.task for r in rows}
    assert {"W1 kernel matrix 12x12", "L1 distances 64x64 (symmetric)", "KRR fit n=80 (W1 kernel, Cholesky)"} <= tasks
    timed = [r for r in rows if r.median_s is not None]
    assert all(r.median_s > 0 and len(r.runs_s) == 1 for r in timed)
    peers = [r for r in timed if r.ratio != 1.0]
    assert {"qmllib.kernels.wasserstein_kernel (Fortran, OpenMP)",
            "scipy.stats.wasserstein_distance per pair"} <= {r.implementation for r in peers}
    for r in peers:  # the same numbers, or the comparison means nothing
        assert r.max_rel_diff < 1e-6, r
    skipped = [r for r in rows if r.median_s is None]
    assert all(r.note.startswith("skipped") for r in skipped)
    assert "W1 kernel matrix 12x12" in format_rows(rows)


def test_bench_ratios_are_like_for_like_and_single_runs_say_so():
    rows = run_bench(n=64, n_peer=12, n_fit=80, repeats=3)
    l1 = {r.implementation: r for r in rows if r.task == "L1 distances 64x64 (symmetric)"}
    pdist = l1["scipy.spatial.distance.pdist cityblock"]
    assert pdist.like_for_like and pdist.max_rel_diff < 1e-12 and "each pair once" in pdist.note
    cdist = l1["scipy.spatial.distance.cdist cityblock"]
    assert not cdist.like_for_like and "not like for like" in cdist.note
    assert all(r.statistic == "median of 3 runs" for r in rows if r.median_s is not None)
    single = run_bench(n=16, n_peer=6, n_fit=20, repeats=1)
    assert all(r.statistic == "single run" for r in single if r.median_s is not None)
    assert "single run, not a median" in format_rows(single)


def test_bench_cli_json_and_errors(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--n", "32", "--n-peer", "8", "--n-fit", "40", "--repeats", "1", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["settings"]["n"] == 32 and data["machine"]["cpus"] >= 1
    assert data["wqml_dash_version"] and data["rows"][0]["statistic"] == "single run"
    assert any(r["implementation"].startswith("wqml-dash") for r in data["rows"])
    assert main(["bench", "--n", "1"]) == 2
    assert "--n must be at least 2" in capsys.readouterr().err
    assert main(["bench", "--json", str(tmp_path / "missing" / "x.json")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--n", "many"])
    assert exc.value.code == 2
