"""Learning-curve and parity plots from DataFrames and arrays (no store, no server)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pandas as pd
import pytest

from wqml_dash.core.learn.results import error_stats
from wqml_dash.core.learn.series import Series
from wqml_dash.runs.summary import curves_table, summarize
from wqml_dash.ui.curves.curve_plots import (
    SERIES_COLORS,
    learning_curve_plot,
    run_key,
    run_style,
)
from wqml_dash.ui.curves.parity_plots import error_histogram, parity_plot

hv.extension("bokeh", logo=False)


def _points(runs=(1,), series=("sorted:l1", "sorted:w1"), sizes=(20, 40, 80), seeds=(0,)):
    rows = []
    for run in runs:
        for s in series:
            order, metric = s.split(":")
            for n in sizes:
                for seed in seeds:
                    mae = 100 / np.sqrt(n) + seed + run
                    rows.append(dict(run_id=run, series=s, order=order, metric=metric, size=n, seed=seed,
                                     mae=mae, rmse=1.5 * mae, sigma=10.0 * (seed + 1), lam=1e-8, cv_mae=mae,
                                     fit_seconds=0.5, predict_seconds=0.1, seconds=0.6, finished="2026"))
    return pd.DataFrame(rows)


def test_summarize_averages_seeds_and_keeps_one_row_per_run_series_size():
    pts = _points(runs=(1, 2), seeds=(0, 1, 2))
    s = summarize(pts, {1: "first", 2: "second"})
    assert len(s) == 2 * 2 * 3
    row = s[(s.run_id == 2) & (s.series == "sorted:w1") & (s["size"] == 40)].iloc[0]
    maes = 100 / np.sqrt(40) + np.array([0, 1, 2]) + 2
    assert row["mae"] == pytest.approx(maes.mean())
    assert row["mae_std"] == pytest.approx(maes.std(ddof=1))
    assert (row["mae_lo"], row["mae_hi"]) == (pytest.approx(maes.min()), pytest.approx(maes.max()))
    assert row["seeds"] == 3 and row["run"] == "second" and row["label"] == "W1"
    assert row["sigma"] == 10.0  # the first seed's choice


def test_summarize_of_one_seed_has_no_spread_and_default_run_names():
    s = summarize(_points())
    assert (s["mae_std"] == 0).all() and (s["seeds"] == 1).all()
    assert set(s["run"]) == {"run 1"}


def test_summarize_empty_frame_keeps_the_columns():
    assert len(summarize(_points().iloc[:0])) == 0
    assert "mae_std" in summarize(None).columns


def _lines(plot):
    return [el for el in plot if isinstance(el, hv.Path)]


def test_plot_is_log_log_with_one_line_per_run_and_series_and_error_bars_for_seeds():
    s = summarize(_points(runs=(1, 2), seeds=(0, 1)))
    plot = learning_curve_plot(s)
    bars, scatter = plot.ErrorBars.I, plot.Scatter.I
    lines = [p for layer in _lines(plot) for p in layer.split() if p.dimension_values("curve")[0]]
    assert len(lines) == 4  # 2 runs x 2 series
    assert len(scatter) == len(s) == len(bars) == 12
    fig = hv.render(plot)
    assert type(fig.x_scale).__name__ == "LogScale" and type(fig.y_scale).__name__ == "LogScale"
    # one colour per series whatever the run
    colors = dict(zip(scatter.dimension_values("curve"), scatter.dimension_values("series_color"), strict=True))
    assert colors["#1 · W1"] == colors["#2 · W1"] == SERIES_COLORS["sorted:w1"]
    assert colors["#1 · L1 · sorted CM"] == SERIES_COLORS["sorted:l1"]
    # the lower error bar never reaches zero on the log axis; the spread is the seeds' std
    assert (bars.dimension_values("neg") < bars.dimension_values("mae")).all()
    assert bars.dimension_values("mae_std") == pytest.approx(np.full(12, np.std([0, 1], ddof=1)))
    legend = fig.legend[0].items
    assert len(legend) == 1 and legend[0].label.field == "color"  # one entry per curve, mapped from 'curve'
    source = legend[0].renderers[0].data_source.data
    assert sorted(set(source["curve"])) == sorted(colors)


def test_each_run_keeps_one_style_and_identical_runs_stay_apart():
    """Two runs with the same numbers: neither hides the other (issue 13)."""
    pts = _points(runs=(1, 2))
    pts.loc[pts.run_id == 2, "mae"] = pts.loc[pts.run_id == 1, "mae"].to_numpy()
    plot = learning_curve_plot(summarize(pts))
    frame = plot.Scatter.I.dframe()
    one, two = frame[frame.run_id == 1], frame[frame.run_id == 2]
    assert len(set(one["marker"])) == len(set(two["marker"])) == 1 and set(one["marker"]) != set(two["marker"])
    assert not np.allclose(one["x"].to_numpy(), two["x"].to_numpy())  # drawn a little apart ...
    assert one["size"].tolist() == two["size"].tolist()  # ... at the same training sizes (hover)
    dashes = {p.opts.get().kwargs["line_dash"]: {c for c in p.dimension_values("curve") if isinstance(c, str) and c}
              for p in _lines(plot)}
    assert dashes[run_style(1)["dash"]] == {"#1 · L1 · sorted CM", "#1 · W1"}
    assert dashes[run_style(2)["dash"]] == {"#2 · L1 · sorted CM", "#2 · W1"}
    assert run_style(1) != run_style(2) and run_style(-1)["filled"] and not run_style(1)["filled"]
    assert run_style(1) == run_style(1 + 4)  # styles cycle; the key under the plot names them
    assert run_key({-1: "Paper Fig. 3", 2: "mine"}) == "**R1** ── ● Paper Fig. 3 · **#2** ··· △ mine"


def test_the_hover_formats_sigma_and_lambda_as_stored():
    """The printf formatters must reach Bokeh under the field names HoloViews writes (issue 13:
    the hover showed 'sigma: .41%' for 3.724)."""
    from bokeh.models import HoverTool

    fig = hv.render(learning_curve_plot(summarize(_points())))
    hover = next(t for t in fig.tools if isinstance(t, HoverTool))
    tips = dict(hover.tooltips)
    assert tips["sigma"] == "@{sigma}{%.4g}" and tips["lambda"] == "@{lam}{%.1e}"
    assert hover.formatters == {"@{sigma}": "printf", "@{lam}": "printf"}


def test_log_axes_have_labelled_1_2_5_ticks():
    fig = hv.render(learning_curve_plot(summarize(_points())))
    for axis in (fig.xaxis[0], fig.yaxis[0]):
        assert {10, 20, 50, 100, 200, 500, 1000} <= set(axis.ticker.ticks)


def test_plot_of_one_run_labels_curves_by_series_only():
    plot = learning_curve_plot(summarize(_points()))
    assert set(plot.Scatter.I.dimension_values("curve")) == {"L1 · sorted CM", "W1"}


def test_plot_hover_names_sigma_lambda_and_timings():
    plot = learning_curve_plot(summarize(_points()))
    scatter = plot.Scatter.I
    tips = dict(scatter.opts.get().kwargs["hover_tooltips"])
    assert {"sigma", "lambda", "Fit (CV + train)", "Predict"} <= set(tips)
    for col in ("sigma", "lam", "fit_seconds", "predict_seconds", "seeds"):
        assert col in scatter.dimensions(label="name")


def test_plot_of_no_points_renders():
    fig = hv.render(learning_curve_plot(summarize(None)))
    assert "no finished points" in fig.title.text


def test_series_labels_name_metric_and_order_and_w1_without_order():
    assert Series.parse("random:l2").label == "L2 · random CM"
    assert Series.parse("sorted:w1").label == "W1"  # W1 has no atom order
    assert Series.parse("random:w1").label == "W1"
    assert Series.parse("sorted:l1", "bob").label == "L1 · BoB"  # Bag of Bonds: bags sorted, no order


def test_curves_table_is_flat_and_renames_lambda():
    t = curves_table(summarize(_points(seeds=(0, 1))))
    assert "lambda" in t.columns and "lam" not in t.columns and len(t) == 6


def test_parity_plot_and_histogram_show_every_test_molecule():
    rng = np.random.default_rng(0)
    y = rng.normal(-1700, 200, size=300)
    pred = y + rng.normal(0, 5, size=300)
    parity = parity_plot(y, pred)
    scatter = next(el for el in parity if isinstance(el, hv.Scatter))
    assert len(scatter) == 300
    np.testing.assert_allclose(scatter.dimension_values("error"), pred - y)
    hist = next(el for el in error_histogram(y, pred) if isinstance(el, hv.Histogram))
    assert hist.dimension_values(1).sum() == 300
    hv.render(parity), hv.render(error_histogram(y, pred))


def test_error_stats():
    stats = error_stats(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 1.0]))
    assert stats["mae"] == pytest.approx(1.0)
    assert stats["rmse"] == pytest.approx(np.sqrt(5 / 3))
    assert stats["max"] == 2.0 and stats["bias"] == pytest.approx(-1 / 3)
    assert np.isnan(error_stats(np.array([]), np.array([]))["mae"])


def test_a_bag_of_bonds_run_is_labelled_as_one():
    summary = summarize(_points(runs=(1, 2)), representations={2: "bob"})
    labels = dict(zip(zip(summary["run_id"], summary["series"], strict=True), summary["label"], strict=True))
    assert labels[(1, "sorted:l1")] == "L1 · sorted CM" and labels[(2, "sorted:l1")] == "L1 · BoB"
    assert labels[(1, "sorted:w1")] == "W1" and labels[(2, "sorted:w1")] == "W1 · BoB"
