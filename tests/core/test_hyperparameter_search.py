"""Hyperparameters a researcher can trust (issue 16): the default search finds the full grid's CV
optimum at each size, from that size's training set alone; it stays in a stated range and flags an
optimum on its edge; each point carries sigma / median distance and its CV table, through the JSON,
the store and the CLI tables."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from wqml_dash.cli.learning_curve import format_table
from wqml_dash.cli.runs import format_points
from wqml_dash.core.learn.cv import (
    DEFAULT_LAMBDAS,
    DEFAULT_SIGMA_FACTORS,
    LAMBDA_FLOOR,
    SIGMA_EXTEND,
    cross_validate,
    median_distance,
)
from wqml_dash.core.learn.learning_curve import run_learning_curve
from wqml_dash.core.learn.metrics import distances
from wqml_dash.core.learn.plan import fit_point, series_features, split_rows
from wqml_dash.core.learn.settings import LearningCurveSettings
from wqml_dash.runs.config import RunConfig
from wqml_dash.runs.store import _SCHEMA, SCHEMA_VERSION, RunStore

POOL, N_TEST, SEED = 240, 60, 0


@pytest.fixture(scope="module")
def pools(qm9):
    """series -> (training distances (POOL, POOL), targets (POOL,), test distances, test targets, X)
    of the protocol's split (seed 0)."""
    train, test = split_rows(len(qm9), POOL, N_TEST, SEED)
    y = qm9.target("atomization_energy")
    out = {}
    for key in ("random:l1", "sorted:l2", "sorted:w1"):
        order, metric = key.split(":")
        X = series_features(qm9, np.concatenate([train, test]), order, metric, SEED)
        out[key] = (distances(metric, X[:POOL], presorted=True), y[train],
                    distances(metric, X[POOL:], X[:POOL], presorted=True), y[test], X)
    return out


@pytest.mark.parametrize("series", ["random:l1", "sorted:l2", "sorted:w1"])
def test_the_default_search_finds_the_grids_optimum_at_each_size(pools, series):
    """At 120 and 240 molecules the local search's CV error equals the whole grid's (to 1e-9, the
    same evaluation), with fewer evaluations. random:l1 sits on the wide-kernel ridge, sorted:l2
    has the Gaussian's diagonal valleys, sorted:w1 moves from the ridge to the basin."""
    D, y = pools[series][:2]
    metric = series.split(":")[1]
    for n in (120, 240):
        grid = cross_validate(D[:n, :n], y[:n], metric, search="grid")
        local = cross_validate(D[:n, :n], y[:n], metric, search="local")
        assert local.mae <= grid.mae * (1 + 1e-9), (n, local, grid)
        assert local.evaluations < grid.evaluations
        # both searched the same bounded range and say whether the optimum is on its edge
        for cv in (grid, local):
            assert DEFAULT_SIGMA_FACTORS[0] / 2 ** SIGMA_EXTEND <= cv.sigma_factor * (1 + 1e-12)
            assert cv.sigma_factor <= DEFAULT_SIGMA_FACTORS[-1] * 2 ** SIGMA_EXTEND * (1 + 1e-12)
            assert cv.lam >= LAMBDA_FLOOR and cv.sigma == pytest.approx(cv.sigma_factor * median_distance(D[:n, :n]))
        if local.mae == grid.mae:
            assert local.at_edge == grid.at_edge


def test_a_point_does_not_depend_on_the_other_sizes(qm9):
    """The issue's case in small: a 240-molecule point alone, after a 40-molecule point (whose
    optimum is on the wide-kernel ridge) and after a 120-molecule one, is the same point."""
    base = dict(series=["sorted:w1"], n_test=N_TEST, folds=5, seed=SEED)
    alone = run_learning_curve(qm9, LearningCurveSettings(sizes=[240], **base)).points[0]
    for sizes in ([40, 240], [120, 240]):
        chained = run_learning_curve(qm9, LearningCurveSettings(sizes=sizes, **base)).points[-1]
        assert (chained.sigma, chained.lam, chained.mae, chained.at_edge) == (alone.sigma, alone.lam, alone.mae,
                                                                             alone.at_edge)
        np.testing.assert_array_equal(chained.cv_table, alone.cv_table)


def test_fit_point_ignores_a_start_on_the_ridge(pools):
    D, y, D_test, y_test, X = pools["sorted:w1"]
    settings = LearningCurveSettings(series=["sorted:w1"], sizes=[240], n_test=N_TEST, seed=SEED)
    args = (X[:POOL], y, X[POOL:], y_test, "sorted", "w1", 240, settings)
    free = fit_point(*args, D_train=D, D_test=D_test)
    started = fit_point(*args, D_train=D, D_test=D_test, start=(1e4 * median_distance(D), 1e-6))
    assert (started.sigma, started.lam, started.mae) == (free.sigma, free.lam, free.mae)


def test_a_point_carries_sigma_over_the_median_and_its_cv_table(pools):
    D, y, D_test, y_test, X = pools["sorted:l2"]
    settings = LearningCurveSettings(series=["sorted:l2"], sizes=[120], n_test=N_TEST, seed=SEED)
    p = fit_point(X[:POOL], y, X[POOL:], y_test, "sorted", "l2", 120, settings, D_train=D, D_test=D_test)
    assert p.sigma_factor == pytest.approx(p.sigma / median_distance(D[:120, :120]), rel=1e-12)
    table = p.cv_table
    assert table.ndim == 2 and table.shape[1] == 3 and len(table) >= 5
    chosen = table[(table[:, 0] == p.sigma) & (table[:, 1] == p.lam)]
    assert len(chosen) == 1 and chosen[0, 2] == p.cv_mae == table[:, 2].min()
    js = p.to_json()
    text = json.dumps(js, allow_nan=False)  # strict JSON: no NaN or Infinity
    back = json.loads(text)
    assert back["sigma_factor"] == pytest.approx(p.sigma_factor) and back["at_edge"] == p.at_edge
    assert len(back["cv_table"]) == len(table) and [p.sigma, p.lam, p.cv_mae] in back["cv_table"]


def test_an_optimum_on_the_edge_is_extended_then_flagged(pools):
    D, y = pools["sorted:w1"][:2]
    n, tiny = 240, dict(sigma_factors=[0.25, 0.5], lambdas=[1e-2, 1e-1])
    for search in ("grid", "local"):
        # W1 wants sigma far above 0.5x the median and lambda far below 1e-2: both edges, nowhere to go
        fixed = cross_validate(D[:n, :n], y[:n], "w1", search=search, extend=0, **tiny)
        assert fixed.at_edge == "sigma-high,lambda-low" and fixed.sigma_factor == pytest.approx(0.5)
        assert fixed.lam == 1e-2
        # two more factors of two and one more lambda: used, still on the edge, flagged
        some = cross_validate(D[:n, :n], y[:n], "w1", search=search, extend=(2, 1), **tiny)
        assert some.sigma_factor == pytest.approx(2.0) and some.lam == pytest.approx(1e-3)
        assert some.at_edge == "sigma-high,lambda-low" and some.mae < fixed.mae
    # a single value is a fixed choice: never extended, never flagged
    one = cross_validate(D[:n, :n], y[:n], "w1", search="local", sigma_factors=[0.5], lambdas=[1e-2])
    assert one.at_edge == "" and one.sigma_factor == pytest.approx(0.5) and one.evaluations == 1
    # lambda is never extended below the floor: there the default grid's optimum is flagged
    ridge = cross_validate(*[pools["random:l1"][0][:120, :120], pools["random:l1"][1][:120]], "l1")
    assert ridge.lam == LAMBDA_FLOOR == DEFAULT_LAMBDAS[0] and "lambda-low" in ridge.at_edge
    assert ridge.lambdas.min() == LAMBDA_FLOOR


def test_above_the_probe_size_the_search_starts_from_its_first_half(pools):
    """Large training sets (above 2,000 by default) start their walks from the ends of the same
    search on their first half (nested): far fewer evaluations, a point better than its evaluated
    neighbours, but not always the probe's optimum: on the Gaussian kernel's diagonal valleys it
    can stop in another local minimum (here 0.5 % above)."""
    D, y = pools["sorted:l2"][:2]
    full = cross_validate(D, y, "l2", search="local")
    nested = cross_validate(D, y, "l2", search="local", probe_size=120)
    assert nested.evaluations < full.evaluations / 2
    assert full.mae <= nested.mae <= full.mae * 1.01
    k = int(np.argmin(np.abs(nested.sigmas - nested.sigma)))
    j = int(np.argmin(np.abs(nested.lambdas - nested.lam)))
    for kk, jj in ((k - 1, j), (k + 1, j), (k, j - 1), (k, j + 1)):
        if 0 <= kk < nested.scores.shape[0] and 0 <= jj < nested.scores.shape[1]:
            assert not nested.scores[kk, jj] < nested.mae


def _v1_store(path):
    """A run store as schema version 1 wrote it, with one point."""
    v1 = "\n".join(line for line in _SCHEMA.splitlines()
                   if not line.strip().startswith(("sigma_factor", "at_edge", "cv_table")))
    with sqlite3.connect(path) as conn:
        conn.executescript(v1)
        conn.execute("INSERT INTO runs (name, status, config, n_total, created) VALUES (?, ?, ?, ?, ?)",
                     ("old", "finished", json.dumps(RunConfig(series=["sorted:w1"], sizes=[40, 80], n_test=60,
                                                              folds=3).to_dict()), 2, "2024-01-01T00:00:00+00:00"))
        conn.execute('INSERT INTO points (run_id, series, "order", metric, size, seed, mae, rmse, sigma, lam, cv_mae, '
                     "fit_seconds, predict_seconds, seconds, finished) VALUES "
                     "(1, 'sorted:w1', 'sorted', 'w1', 40, 0, 20.0, 30.0, 4.0, 1e-8, 21.0, 0.1, 0.01, 0.11, "
                     "'2024-01-01T00:00:01+00:00')")
        conn.execute("PRAGMA user_version = 1")


def test_the_store_keeps_the_search_and_old_stores_migrate(tmp_path, pools):
    path = tmp_path / "old.sqlite"
    _v1_store(path)
    store = RunStore(path)  # opens, migrates
    assert store.schema_version == SCHEMA_VERSION == 2
    old = store.points(1).iloc[0]
    assert old["mae"] == 20.0 and np.isnan(old["sigma_factor"]) and old["at_edge"] is None
    assert store.cv_table(1, "sorted:w1", 40, 0) is None
    assert "sigma/med" in format_points(store.points(1)) and "*" not in format_points(store.points(1))

    D, y, D_test, y_test, X = pools["random:l1"]
    settings = LearningCurveSettings(series=["random:l1"], sizes=[80], n_test=N_TEST, seed=SEED)
    point = fit_point(X[:POOL], y, X[POOL:], y_test, "random", "l1", 80, settings, D_train=D, D_test=D_test)
    assert point.at_edge  # random L1 at 80 molecules: on the wide-kernel ridge
    store.add_point(1, "sorted:w1", 80, 0, point)
    row = store.points(1).set_index("size").loc[80]
    assert row["sigma_factor"] == point.sigma_factor and row["at_edge"] == point.at_edge
    table = store.cv_table(1, "sorted:w1", 80, 0)
    assert list(table.columns) == ["sigma", "lam", "cv_mae"]
    np.testing.assert_array_equal(table.to_numpy(), point.cv_table)
    with pytest.raises(KeyError):
        store.cv_table(1, "sorted:w1", 999, 0)
    # reopening a migrated store changes nothing; a fresh store has the columns from the start
    assert RunStore(path).points(1).equals(store.points(1))
    fresh = RunStore(tmp_path / "new.sqlite")
    assert list(fresh.points().columns)[-2:] == ["sigma_factor", "at_edge"]

    text = format_points(store.points(1))
    assert "*" in text and point.at_edge.split(",")[0] in text.splitlines()[-1]
    lines = format_table([point]).splitlines()
    assert "sigma/med" in lines[0] and "*" in lines[2] and lines[-2].startswith("* optimum at the edge")
