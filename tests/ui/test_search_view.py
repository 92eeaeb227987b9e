"""The point detail shows how sigma and lambda were chosen: sigma per median distance, the edge flag,
and the CV curve the search chose from."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd

from wqml_dash.core.learn.results import CurvePoint
from wqml_dash.core.learn.series import parse_series
from wqml_dash.runs.config import RunConfig
from wqml_dash.runs.store import RunStore
from wqml_dash.ui.curves.learning_curves_tab import LearningCurvesTab
from wqml_dash.ui.curves.search_view import cv_curves, search_text

from test_learning_curves_tab import SyncExecutor


def test_the_search_line_names_sigma_per_median_and_an_edge():
    inside = pd.Series({"sigma": 3.72, "lam": 1e-4, "sigma_factor": 8.0, "at_edge": "", "cv_mae": 11.9})
    text = search_text(inside, "kcal/mol")
    assert "σ = 3.72 (8 × the median distance), λ = 1e-04" in text and "CV MAE 11.9 (kcal/mol)" in text
    assert "edge" not in text
    edge = pd.Series({"sigma": 1e8, "lam": 1e-10, "sigma_factor": 65536.0, "at_edge": "sigma-high,lambda-low",
                      "cv_mae": 81.3})
    text = search_text(edge, "kcal/mol")
    assert "At the edge of the search" in text
    assert "the largest sigma searched and the smallest lambda searched" in text
    old = pd.Series({"sigma": 2.0, "lam": 1e-8, "sigma_factor": float("nan"), "at_edge": None, "cv_mae": None})
    assert "median" not in search_text(old, "eV") and "edge" not in search_text(old, "eV")


def test_the_cv_curve_has_a_line_per_lambda_and_rings_the_choice():
    table = pd.DataFrame({"sigma": [1, 2, 4, 1, 2, 4, 8], "lam": [1e-8] * 3 + [1e-4] * 4,
                          "cv_mae": [5.0, 4.0, 4.5, 6.0, 3.5, 3.9, np.inf]})
    overlay = cv_curves(table, 2, 1e-4, "eV")
    labels = [el.label for el in overlay if isinstance(el, hv.Curve)]
    assert labels == ["λ 1e-08", "λ 1e-04"]
    ring = [el for el in overlay if isinstance(el, hv.Scatter) and el.label == "chosen"][0]
    assert ring.data[["sigma", "cv_mae"]].values.tolist() == [[2, 3.5]]
    assert hv.render(overlay).yaxis[0].axis_label == "CV MAE (eV)"


class SearchingExecutor(SyncExecutor):
    """Made-up points that carry what the search records: sigma per median, the edge flag, the CV table."""

    def add_point(self, run_id, series, size, seed):
        super().add_point(run_id, series, size, seed)  # test set and predictions
        order, metric = parse_series(series)
        y_true, y_pred = self.store.predictions(run_id, series, size, seed)
        table = np.array([[50.0, 1e-8, 2.0], [100.0, 1e-8, 1.0], [200.0, 1e-8, 1.5], [100.0, 1e-4, 1.2]])
        point = CurvePoint(order, metric, size, float(np.abs(y_pred - y_true).mean()), 1.0, sigma=100.0, lam=1e-8,
                           cv_mae=1.0, fit_seconds=0.2, predict_seconds=0.01, predictions=y_pred, sigma_factor=8.0,
                           at_edge="lambda-low" if size == 40 else "", cv_table=table)
        self.store.add_point(run_id, series, size, seed, point)  # replaces the plain one


def test_a_stored_point_shows_its_search_in_the_point_detail(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    tab = LearningCurvesTab(store=store, executor=SearchingExecutor(store), show_reference=False)
    tab.executor.submit(RunConfig.from_dict(dict(series=["sorted:w1"], sizes=[20, 40], n_test=50, folds=2)))
    tab.refresh()
    tab.point = (1, "sorted:w1", 40, 0)
    search = tab._point_view()[-1]
    assert "σ = 100 (8 × the median distance)" in search[0].object and "(kcal/mol)" in search[0].object
    assert "At the edge of the search" in search[0].object and "the smallest lambda searched" in search[0].object
    assert isinstance(search[1].object, hv.Overlay)  # the CV curve, from the stored table
    tab.point = (1, "sorted:w1", 20, 0)
    assert "edge" not in tab._point_view()[-1][0].object
