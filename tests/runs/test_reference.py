"""The reference learning curves shipped with wqml-dash: complete, consistent, and reproducible."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pytest

from wqml_dash.core.learn.settings import PAPER_SERIES
from wqml_dash.runs.reference import (
    DATA_FOLDER,
    DEFAULT_REFERENCE,
    reference_points,
    reference_predictions,
    reference_provenance,
    reference_run,
    reference_runs,
    reference_test_set,
)
from wqml_dash.runs.store import POINT_COLUMNS
from wqml_dash.runs.tasks import fit_task, prepare_inputs


def test_the_default_reference_is_the_papers_fig_3_protocol():
    run = reference_run(DEFAULT_REFERENCE)
    cfg = run["config"]
    assert sorted(cfg["series"]) == sorted(PAPER_SERIES) and cfg["representation"] == "cm"
    assert cfg["sizes"] == [100, 200, 500, 1000, 2000, 5000, 10000] and cfg["seeds"] == [0]
    assert cfg["n_test"] == 2000 and cfg["folds"] == 5
    points = reference_points(DEFAULT_REFERENCE)
    assert len(points) == run["n_done"] == run["n_total"] == 35 and list(points.columns) == list(POINT_COLUMNS)
    # Fig. 3's message: W1 learns best, L2 on random CMs worst, at every size
    at = points.pivot(index="size", columns="series", values="mae")
    assert (at["sorted:w1"] < at["random:l2"]).all() and (at["random:l1"] < at["random:l2"]).all()


def test_every_reference_run_is_complete_and_has_its_provenance():
    runs = reference_runs()
    assert len(runs) >= 3 and list(runs["id"]) == list(range(-1, -len(runs) - 1, -1))
    shared = reference_provenance()
    assert shared["wqml_dash_version"] and shared["machine"]["nproc"] >= 1 and len(shared["commit"]) == 40
    for run in runs.itertuples():
        points = reference_points(run.id)
        assert len(points) == run.n_done == run.n_total
        assert {(s, n, seed) for s, n, seed in zip(points["series"], points["size"], points["seed"], strict=True)} \
            == {(s, n, seed) for seed in run.config["seeds"] for n in run.config["sizes"] for s in run.config["series"]}
        assert run.provenance["command"].startswith("wqml learning-curve") and run.provenance["wall_seconds"] > 0
    spread = runs[[len(c["seeds"]) >= 3 for c in runs["config"]]]
    assert len(spread) and max(spread.iloc[0]["config"]["sizes"]) >= 4000  # seeds for the spread
    assert any(c["representation"] == "bob" for c in runs["config"])


def test_the_package_data_is_small():
    folder = resources.files("wqml_dash.runs").joinpath(DATA_FOLDER)
    sizes = {f.name: len(f.read_bytes()) for f in folder.iterdir() if f.is_file()}
    assert set(sizes) >= {"runs.json", "points.csv", "predictions.npz"}
    assert sum(sizes.values()) < 1_000_000


def test_shipped_predictions_match_the_shipped_errors_and_qm9(qm9):
    run_id, seed = DEFAULT_REFERENCE, 0
    y_true, rows = reference_test_set(run_id, seed)
    position = np.searchsorted(np.asarray(qm9.index), rows)
    np.testing.assert_allclose(y_true, qm9.target("atomization_energy")[position])
    for p in reference_points(run_id).itertuples():
        truth, pred = reference_predictions(run_id, p.series, p.size, p.seed)
        assert np.abs(pred - truth).mean() == pytest.approx(p.mae, abs=1e-3)  # float32 predictions


@pytest.mark.parametrize("series", ["sorted:w1", "random:l1"])
def test_a_reference_point_is_recomputed_to_the_shipped_number(series):
    """The smallest size of the default reference, recomputed now with its recorded settings: the
    shipped curves cannot go stale silently when the science code changes."""
    config = reference_run(DEFAULT_REFERENCE)["config"]
    size, seed = min(config["sizes"]), 0
    shipped = reference_points(DEFAULT_REFERENCE)
    shipped = shipped[(shipped.series == series) & (shipped["size"] == size) & (shipped.seed == seed)].iloc[0]
    point = fit_task(prepare_inputs(config, seed, series), config, series, size, seed)  # the smallest size: full grid
    assert (point.sigma, point.lam) == (pytest.approx(shipped.sigma, rel=1e-9), shipped.lam)
    assert point.mae == pytest.approx(shipped.mae, rel=1e-9)
    assert point.rmse == pytest.approx(shipped.rmse, rel=1e-9)
