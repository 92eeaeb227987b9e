"""The learning-curves tab's logic without a browser: a real `RunStore` in a temporary file and a
stand-in executor that writes points synchronously (the real executor is tested in tests/runs
and, through the served app, in test_learning_curves_browser.py)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param
import pytest

from wqml_dash.core.learn.results import CurvePoint
from wqml_dash.core.learn.series import parse_series
from wqml_dash.runs.config import RunConfig
from wqml_dash.runs.executor import RunProgress
from wqml_dash.runs.reference import (
    DEFAULT_REFERENCE,
    reference_points,
    reference_predictions,
    reference_runs,
    reference_test_set,
)
from wqml_dash.runs.store import RunStore
from wqml_dash.ui.curves.learning_curves_tab import LearningCurvesTab
from wqml_dash.ui.curves.run_form import RunForm, log_sizes, parse_numbers
from wqml_dash.ui.curves.runs_table import format_eta, progress_bar, settings_summary

hv.extension("bokeh", logo=False)


class SyncExecutor:
    """The `RunExecutor` interface, run in the calling thread with made-up but consistent numbers."""

    dashboard_link = "http://127.0.0.1:8787/status"

    def __init__(self, store: RunStore):
        self.store = store
        self.active: set[int] = set()
        self.calls: list[tuple[str, int]] = []

    def submit(self, config, finish=None) -> int:
        run_id = self.store.create_run(config)
        self.active.add(run_id)
        self.store.set_status(run_id, "running")
        tasks = config.tasks() if finish is None else config.tasks()[:finish]
        for series, size, seed in tasks:
            self.add_point(run_id, series, size, seed)
        if finish is None:
            self.active.discard(run_id)
            self.store.set_status(run_id, "finished")
        return run_id

    def add_point(self, run_id, series, size, seed):
        order, metric = parse_series(series)
        rng = np.random.default_rng([run_id, size, seed])
        y = rng.normal(-1700, 200, 50)
        pred = y + rng.normal(0, 300 / np.sqrt(size) * (1 + seed), 50)
        err = pred - y
        point = CurvePoint(order, metric, size, float(np.abs(err).mean()), float(np.sqrt((err ** 2).mean())),
                           sigma=100.0, lam=1e-8, cv_mae=1.0, fit_seconds=0.2, predict_seconds=0.01,
                           predictions=pred)
        self.store.set_test_set(run_id, seed, y)
        self.store.add_point(run_id, series, size, seed, point)

    def cancel(self, run_id):
        self.calls.append(("cancel", run_id))
        self.active.discard(run_id)
        self.store.set_status(run_id, "cancelled")

    def resume(self, run_id):
        self.calls.append(("resume", run_id))
        for series, size, seed in self.store.missing_tasks(run_id):
            self.add_point(run_id, series, size, seed)
        self.store.set_status(run_id, "finished")

    def delete(self, run_id):
        self.calls.append(("delete", run_id))
        self.store.delete_run(run_id)

    def active_runs(self):
        return sorted(self.active)

    def progress(self, run_id):
        run = self.store.get_run(run_id)
        return RunProgress(run_id, run["status"], run["n_done"], run["n_total"], 42.0, "sorted:l1 n=40: MAE 1")


def _run(coro):
    """asyncio.run in a thread of its own (Playwright's sync API may own this thread's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _config(**overrides):
    base = dict(series=["sorted:l1", "sorted:w1"], sizes=[20, 40], n_test=50, folds=2, seeds=[0])
    return RunConfig.from_dict({**base, **overrides})


@pytest.fixture
def tab(tmp_path):
    """A tab on an empty store with the reference curves hidden (see the reference tests below)."""
    store = RunStore(tmp_path / "runs.sqlite")
    return LearningCurvesTab(store=store, executor=SyncExecutor(store), show_reference=False)


def test_empty_store_renders_with_an_empty_plot(tab):
    pn.panel(tab).get_root()
    assert len(tab.runs_table.table.value) == 0
    assert tab.point is None
    fig = hv.render(tab._plot())
    assert "no finished points" in fig.title.text


def test_a_launched_run_is_shown_selected_and_inspected(tab):
    form = tab.form
    form.apply_values(dict(series=["sorted:l1", "sorted:w1"], sizes=[20, 40], n_test=50, folds=2))
    form.run_name.value = "first"
    assert form.valid
    form.launch.clicks += 1
    assert form.message_type == "success" and "Run 1 launched: 4 points" in form.message
    assert tab.shown_runs == [1] and tab.runs_table.selected_run == 1
    assert list(tab.summary["size"]) == [20, 40, 20, 40]
    assert set(tab.series_chooser.value) == {"sorted:l1", "sorted:w1"}
    # the inspected point defaults to the largest size of the first series, and has a parity view
    assert tab.point == (1, "sorted:l1", 40, 0)
    view = tab._point_view()
    assert "50 test molecules" in view[0].object
    row = tab.runs_table.table.value.loc[1]
    assert row["name"] == "first" and "data-done='4'" in row["progress"] and "finished" in row["status"]


def test_series_chooser_filters_the_plot_and_the_export(tab):
    tab.executor.submit(_config(seeds=[0, 1]))
    tab.refresh()
    tab.series_chooser.value = ["sorted:w1"]
    assert set(tab.summary["series"]) == {"sorted:w1"}
    assert (tab.summary["seeds"] == 2).all() and (tab.summary["mae_std"] > 0).all()
    csv = pd.read_csv(tab.curves_csv())
    assert set(csv["series"]) == {"sorted:w1"} and len(csv) == 4 and "lambda" in csv.columns
    doc = json.loads(tab.curves_json().read())
    assert [r["id"] for r in doc["runs"]] == [1] and doc["runs"][0]["config"]["seeds"] == [0, 1]
    assert len(doc["curves"]) == 2 and len(doc["points"]) == 4
    assert doc["curves"][0]["mae_std"] == pytest.approx(np.std([p["mae"] for p in doc["points"]
                                                                if p["n_train"] == 20], ddof=1))


def test_runs_can_be_overlaid_and_stay_until_the_user_removes_them(tab):
    first = tab.executor.submit(_config(name="a"))
    tab.refresh()
    assert tab.shown_runs == [first]  # a session showing no run picks up the newest
    second = tab.executor.submit(_config(name="b", series=["random:l2"]))
    tab.refresh()
    assert tab.shown_runs == [first]  # another run does not replace it ...
    tab.run_chooser.value = [second, first]  # ... the user overlays runs
    assert set(tab.summary["run_id"]) == {first, second}
    assert set(tab.summary["run"]) == {"#1 a", "#2 b"}
    scatter = tab._plot().Scatter.I
    assert set(scatter.dimension_values("marker")) == {"square", "triangle"}
    elsewhere = tab.executor.submit(_config(name="from the CLI"))
    tab.refresh()
    assert tab.shown_runs == [second, first]  # a run started elsewhere does not disturb the overlay
    assert "#3 from the CLI" in tab.run_chooser.options
    tab.form.launch.clicks += 1  # one launched here joins it (issue 13: it replaced the shown runs)
    assert tab.shown_runs == [elsewhere + 1, second, first]
    tab.form.launch.clicks += 1  # and the next one too
    assert tab.shown_runs == [elsewhere + 2, elsewhere + 1, second, first]
    tab.run_chooser.value = [first]  # removed by the user: gone, and not put back by a poll
    tab.executor.add_point(elsewhere + 2, "sorted:l1", 20, 1)
    tab.refresh()
    assert tab.shown_runs == [first]


def test_another_sessions_run_does_not_take_over_the_plot(tab):
    """Two browser sessions on one store: each follows the run it launched itself."""
    other = LearningCurvesTab(store=tab.store, executor=tab.executor, show_reference=False)
    tab.form.apply_values(dict(series=["sorted:l1"], sizes=[20], n_test=50, folds=2))
    tab.form.launch.clicks += 1
    mine = tab.store.list_runs()["id"].max()
    other.form.apply_values(dict(series=["sorted:w1"], sizes=[20], n_test=50, folds=2))
    other.form.launch.clicks += 1
    theirs = tab.store.list_runs()["id"].max()
    tab.refresh()
    other.refresh()
    assert theirs != mine and tab.shown_runs == [mine] and other.shown_runs == [theirs]
    assert tab.point[0] == mine and other.point[0] == theirs
    fresh = LearningCurvesTab(store=tab.store, executor=tab.executor)  # a new session shows the newest run
    fresh.refresh()
    assert fresh.shown_runs == [theirs, DEFAULT_REFERENCE]  # and the reference curves


def test_points_fill_in_and_the_table_patches_in_place(tab):
    ex = tab.executor
    run_id = ex.submit(_config(), finish=1)
    tab.refresh()
    table = tab.runs_table.table
    assert "data-done='1'" in table.value.loc[run_id, "progress"] and "42 s left" in table.value.loc[run_id, "progress"]
    assert len(tab.summary) == 1
    before = table.value
    ex.add_point(run_id, "sorted:w1", 20, 0)
    tab.refresh()
    assert table.value is before  # patched, not replaced
    assert "data-done='2'" in table.value.loc[run_id, "progress"]
    assert len(tab.summary) == 2


def test_an_idle_poll_reads_the_store_again_only_after_a_change(tab, monkeypatch):
    ex = tab.executor
    run_id = ex.submit(_config())
    tab.refresh()
    reads = []
    list_runs = tab.store.list_runs
    monkeypatch.setattr(tab.store, "list_runs", lambda: reads.append(1) or list_runs())
    for _ in range(3):
        tab.refresh()
    assert reads == []  # nothing running here, nothing changed: one small query per poll
    RunStore(tab.store.path).rename_run(run_id, "renamed elsewhere")  # another session or the CLI
    tab.refresh()
    assert reads == [1] and tab.runs_table.table.value.loc[run_id, "name"] == "renamed elsewhere"
    ex.active.add(run_id)  # a run in progress here: its time left changes every second
    tab.refresh()
    tab.refresh()
    assert reads == [1, 1, 1]


def test_a_hidden_tab_waits_and_catches_up_when_shown(tab):
    tab._callback = object()  # as if served and polling
    tab.shown = False
    run_id = tab.executor.submit(_config())
    tab._poll()
    assert run_id not in tab.runs_table.table.value.index  # hidden: not read, nothing updated
    tab.shown = True
    assert run_id in tab.runs_table.table.value.index


def test_the_inspected_point_follows_a_live_run_until_the_user_picks_one(tab):
    ex = tab.executor
    run_id = ex.submit(_config(), finish=1)  # sorted:l1 n=20 arrives alone in the first poll
    tab.refresh()
    assert tab.point == (run_id, "sorted:l1", 20, 0)
    ex.add_point(run_id, "sorted:l1", 40, 0)
    tab.refresh()
    assert tab.point == (run_id, "sorted:l1", 40, 0)  # the larger size, now finished, is shown
    tab.point_size.value = 20  # the user's choice is kept as more points arrive
    ex.add_point(run_id, "sorted:w1", 20, 0)
    tab.refresh()
    assert tab.point == (run_id, "sorted:l1", 20, 0)


def test_actions_follow_the_selected_runs_status(tab):
    ex, rt = tab.executor, tab.runs_table
    run_id = ex.submit(_config(), finish=1)
    tab.refresh()
    rt.select(run_id)
    assert not rt.buttons["cancel"].disabled and rt.buttons["resume"].disabled and rt.buttons["delete"].disabled
    _run(rt.act("cancel"))
    assert ex.calls == [("cancel", run_id)] and "cancelled" in rt.message
    assert rt.buttons["cancel"].disabled and not rt.buttons["resume"].disabled
    _run(rt.act("resume"))
    assert tab.store.get_run(run_id)["status"] == "finished"
    assert rt.message == ""  # finished at once here: no "computing its missing points" left behind
    _run(rt.act("delete"))  # asks for confirmation first
    assert "again" in rt.message and tab.store.list_runs()["id"].tolist() == [run_id]
    _run(rt.act("delete"))
    assert len(tab.store.list_runs()) == 0 and rt.selected_run is None
    assert all(b.disabled for b in rt.buttons.values())


def test_the_resumed_message_clears_when_the_run_finishes(tab):
    """Issue 13: "Run 2 resumed: computing its 1 missing points" stayed after the run had finished."""
    class Later(SyncExecutor):
        def resume(self, run_id):  # starts computing, finishes later (as the Dask executor does)
            self.active.add(run_id)
            self.store.set_status(run_id, "running")

    tab.executor = tab.runs_table.executor = ex = Later(tab.store)
    rt = tab.runs_table
    run_id = ex.submit(_config(), finish=1)
    ex.cancel(run_id)
    tab.refresh()
    rt.select(run_id)
    _run(rt.act("resume"))
    assert "resumed: computing its 3 missing points" in rt.message
    tab.refresh()
    assert "3 missing points" in rt.message  # still computing
    for series, size, seed in tab.store.missing_tasks(run_id):
        ex.add_point(run_id, series, size, seed)
    ex.active.discard(run_id)
    tab.store.set_status(run_id, "finished")
    tab.refresh()
    assert rt.message == ""


def test_action_tooltips_open_below_their_buttons(tab):
    """Issue 13: the Resume tooltip, opening to the right, covered the Delete button."""
    for button in tab.runs_table.buttons.values():
        assert button.description.position == "bottom"


def test_a_run_of_another_process_is_not_cancelled_from_here(tab):
    run_id = tab.store.create_run(_config())
    tab.store.set_status(run_id, "running")
    tab.refresh()
    assert "in another process" in tab.runs_table.table.value.loc[run_id, "message"]
    text, kind = tab.runs_table._cancel(run_id)
    assert kind == "warning" and "another process" in text
    assert tab.executor.calls == []


def test_tap_selects_the_point_under_the_cursor(tab):
    tab.executor.submit(_config(seeds=[3]))
    tab.refresh()
    index = tab.summary.index[(tab.summary.series == "sorted:w1") & (tab.summary["size"] == 20)][0]
    tab._on_tap([int(index)])
    assert tab.point == (1, "sorted:w1", 20, 3)
    assert (tab.point_series.value, tab.point_size.value, tab.point_seed.value) == ("sorted:w1", 20, 3)


def test_form_reports_what_is_wrong(tmp_path):
    form = RunForm(n_molecules=1000)
    form.sizes.value = "100, x"
    assert not form.valid and form.message == "training sizes: 'x' is not a whole number"
    assert form.launch.disabled and form.preset.value == "Custom"
    form.sizes.value = "100, 900"
    assert not form.valid and "exceeds the 1000 molecules" in form.message
    form.n_test.value = 100
    form.seeds.value = "1, 1"
    assert not form.valid and "seeds must differ" in form.message
    form.seeds.value = "1, 2"
    assert form.valid and form.message == "" and "= **20 points**" in form.summary.object
    for group in form.series_groups.values():
        group.value = []
    assert not form.valid and "at least one series" in form.message


def test_form_presets_fill_every_field():
    form = RunForm()
    assert form.preset.value == "Paper Fig. 3"
    cfg = form.config()
    assert sorted(cfg.series) == sorted(RunConfig.preset("Paper Fig. 3").series)
    form.preset.value = "Bag of Bonds"
    assert form.representation.value == "bob" and form.config().representation == "bob"
    form.grid_from.value, form.grid_to.value, form.grid_count.value = 100, 10_000, 5
    form.grid_button.clicks += 1
    assert form.config().sizes == [100, 320, 1000, 3200, 10_000]


def test_helpers():
    assert log_sizes(100, 10_000, 9) == [100, 180, 320, 560, 1000, 1800, 3200, 5600, 10_000]
    assert log_sizes(20, 40, 1) == [40]
    with pytest.raises(ValueError):
        log_sizes(0, 10, 3)
    assert parse_numbers("1e-8; 0.5  2", float, "lambdas") == [1e-8, 0.5, 2.0]
    with pytest.raises(ValueError, match="give at least one value"):
        parse_numbers(" ", int, "seeds")
    assert format_eta(None) == "" and format_eta(75.4) == "1 min 15 s" and format_eta(7300) == "2 h 01 min"
    assert "data-done='3'" in progress_bar(3, 10, "5 s") and "3 / 10 · 5 s left" in progress_bar(3, 10, "5 s")
    cfg = _config(seeds=[0, 1], representation="bob", target="gap").to_dict()
    assert settings_summary(cfg) == "2 series · n 20-40 · test 50 · 2-fold · 2 seeds · BoB · gap"


def test_a_failed_launch_is_reported_in_the_form(tab):
    def refuse(config):
        raise RuntimeError("this executor is closed")

    tab.executor.submit = refuse
    tab.form.launch.clicks += 1
    assert tab.form.message_type == "danger"
    assert tab.form.message == "Could not launch the run: RuntimeError: this executor is closed"
    assert not tab.form.launch.disabled  # the user can try again


def test_one_store_and_executor_per_process(tmp_path, monkeypatch):
    from wqml_dash.ui.curves import runs_service

    monkeypatch.setenv("WQML_STORE", str(tmp_path / "shared.sqlite"))
    monkeypatch.setattr(runs_service, "_STORE", None)
    monkeypatch.setattr(runs_service, "_EXECUTOR", None)
    store, executor = runs_service.runs_store(), runs_service.runs_executor()
    assert store.path == tmp_path / "shared.sqlite" and executor.store is store
    assert runs_service.runs_store() is store and runs_service.runs_executor() is executor
    assert not executor.started  # no cluster until the first run
    a, b = LearningCurvesTab(), LearningCurvesTab()  # two sessions: shared runs, own view state
    assert a.executor is b.executor and a.form is not b.form
    executor.close()


def test_the_app_survives_a_store_it_cannot_open(monkeypatch):
    from wqml_dash.runs.store import StoreVersionError
    from wqml_dash.ui import app

    def refuse(**_params):
        raise StoreVersionError("runs.sqlite has schema version 99; this wqml-dash reads up to 1")

    monkeypatch.setattr(app, "LearningCurvesTab", refuse)
    tabs = app.create_app().main[0]
    tabs.active = 1  # the tab is built when first shown
    alert = tabs.page(1)
    assert isinstance(alert, pn.pane.Alert) and "schema version 99" in alert.object


def test_a_lazy_page_is_in_place_before_panel_sends_the_active_tab():
    """PageTabs builds a page in a param.depends watcher, which param runs before watchers made with
    ``watch`` (precedence 0, as Panel's own that send ``active`` to the browser): fails loudly if not."""
    from wqml_dash.ui.app import LazyPage, PageTabs

    built = pn.pane.Markdown("built")
    tabs = PageTabs(("a", pn.pane.Markdown("a")), ("b", LazyPage(lambda: built)))
    seen = []
    tabs.param.watch(lambda event: seen.append(tabs[1] is built), "active")
    tabs.active = 1
    assert seen == [True] and tabs.page(1) is built


def test_only_the_tab_on_screen_is_marked_shown(tmp_path, monkeypatch):
    from wqml_dash.ui import app

    monkeypatch.setenv("WQML_STORE", str(tmp_path / "runs.sqlite"))
    made = {}
    for name in ("DisplacementExplorer", "LearningCurvesTab"):
        cls = getattr(app, name)
        monkeypatch.setattr(app, name, lambda cls=cls, name=name, **kw: made.setdefault(name, cls(**kw)))
    tabs = app.create_app().main[0]
    assert "LearningCurvesTab" not in made  # a hidden tab costs a new session nothing: built when first shown
    explorer = made["DisplacementExplorer"]
    assert explorer.shown
    tabs.active = 1
    curves = made["LearningCurvesTab"]
    assert curves.shown and not explorer.shown
    tabs.active = 2
    assert not curves.shown and not explorer.shown


def test_a_hidden_page_stays_in_the_document_and_its_updates_keep_the_servers_stylesheets():
    # Panel gives a model updated outside a document its CDN's stylesheet addresses: with dynamic tabs a
    # run finishing while its tab was hidden sent the page to cdn.holoviz.org (no internet in a classroom).
    from bokeh.document import Document
    from bokeh.models import ImportedStyleSheet

    from wqml_dash.ui.app import PageTabs

    pages = [pn.pane.Markdown("first"), pn.pane.Markdown("second")]
    tabs = PageTabs(("a", pages[0]), ("b", pages[1]))
    doc = Document()
    doc.template_variables["dist_url"] = "static/extensions/panel/"  # what Panel's server sets per session
    with pn.io.server.set_curdoc(doc):
        tabs.server_doc(doc)
        tabs.active = 1
        pages[0].object = "first, updated while hidden"
    (model, _), = pages[0]._models.values()
    assert model.document is doc
    urls = [str(s.url) for s in model.select({"type": ImportedStyleSheet})]
    assert urls and not any(url.startswith("http") for url in urls)


def test_a_page_that_fails_to_catch_up_does_not_stop_its_tab_opening(caplog):
    from wqml_dash.ui.app import PageTabs

    class Broken(pn.viewable.Viewer):
        shown = param.Boolean(default=False)

        def __panel__(self):
            return pn.pane.Markdown("broken page")

        @param.depends("shown", watch=True)
        def _catch_up(self):
            if self.shown:
                raise OSError("database is locked")

    pages = [pn.pane.Markdown("first"), Broken()]
    tabs = PageTabs(("a", pages[0]), ("b", pages[1]))
    model = tabs.get_root()
    tabs.active = 1
    assert model.tabs[1].child.tags != ["hidden"]  # rendered all the same
    assert "could not catch up" in caplog.text and "database is locked" in caplog.text


def test_showing_the_tab_starts_the_cluster_without_waiting_for_it(tmp_path):
    class SlowStart(SyncExecutor):
        started = False

        def start(self):
            self.start_thread = threading.current_thread()
            time.sleep(1.0)
            self.started = True

    store = RunStore(tmp_path / "runs.sqlite")
    tab = LearningCurvesTab(store=store, executor=SlowStart(store))
    tab._callback = object()  # as if served and polling
    tab.shown = False
    t0 = time.perf_counter()
    tab.shown = True
    assert time.perf_counter() - t0 < 0.5  # the server's event loop is not held
    tab._starting.join(5)
    assert tab.executor.started and tab.executor.start_thread is not threading.current_thread()
    tab.shown = False
    tab.shown = True
    assert tab._starting.is_alive() is False  # started once


# -- reference curves, comparison and export (issue 13) ------------------------------------
@pytest.fixture
def fresh(tmp_path):
    """A new session's tab on an empty store, as a user first sees it."""
    store = RunStore(tmp_path / "runs.sqlite")
    return LearningCurvesTab(store=store, executor=SyncExecutor(store))


def test_an_empty_store_shows_the_reference_curves(fresh):
    assert fresh.shown_runs == [DEFAULT_REFERENCE] and fresh.reference_toggle.value
    ref = reference_points(DEFAULT_REFERENCE)
    assert set(fresh.summary["series"]) == set(ref["series"]) and len(fresh.summary) == len(ref)
    assert "(reference, precomputed)" in fresh.summary["run"].iloc[0]
    fig = hv.render(fresh._plot())
    assert "no finished points" not in fig.title.text
    assert fig.legend[0].items and fig.xaxis[0].axis_label == "Training size"
    assert fig.yaxis[0].axis_label == "MAE (kcal/mol)"
    assert "**R1**" in fresh.run_key.object and "reference, precomputed" in fresh.run_key.object
    assert fresh.point is not None and fresh.point[0] == DEFAULT_REFERENCE  # its parity plot is one click away
    assert "2,000 test molecules" in fresh._point_view()[0].object


def test_the_reference_curves_can_be_hidden_and_runs_overlay_them(fresh):
    fresh.reference_toggle.value = False
    assert fresh.shown_runs == [] and len(fresh.summary) == 0
    fresh.form.apply_values(dict(series=["sorted:l1", "sorted:w1"], sizes=[20, 40], n_test=50, folds=2))
    fresh.form.launch.clicks += 1
    fresh.reference_toggle.value = True
    assert fresh.shown_runs == [1, DEFAULT_REFERENCE]
    assert set(fresh.summary["run_id"]) == {1, DEFAULT_REFERENCE}
    curves = set(fresh._plot().Scatter.I.dimension_values("curve"))
    assert {"#1 · W1", "R1 · W1", "R1 · L2 · random CM"} <= curves
    fresh.run_chooser.value = [1]  # removing the reference in the chooser unticks the box
    assert not fresh.reference_toggle.value


def test_the_csv_export_names_units_and_settings(fresh):
    table = pd.read_csv(fresh.curves_csv())
    ref = reference_points(DEFAULT_REFERENCE)
    assert len(table) == len(ref) and set(table["run_tag"]) == {"R1"} and table["reference"].all()
    for column in ("mae", "rmse", "sigma", "lambda", "n_train", "fit_seconds", "unit", "representation", "n_test",
                   "folds", "target", "search", "lambdas"):
        assert column in table.columns, column
    assert (table["unit"] == "kcal/mol").all()
    config = reference_runs().set_index("id").loc[DEFAULT_REFERENCE, "config"]
    assert (table["n_test"] == config["n_test"]).all() and (table["folds"] == config["folds"]).all()
    row = table[(table.series == "sorted:w1") & (table["n_train"] == 100)].iloc[0]
    expected = ref[(ref.series == "sorted:w1") & (ref["size"] == 100)].iloc[0]
    assert row["mae"] == pytest.approx(expected["mae"]) and row["sigma"] == pytest.approx(expected["sigma"])
    doc = json.loads(fresh.curves_json().read())
    assert doc["runs"][0]["tag"] == "R1" and doc["runs"][0]["provenance"]["wall_seconds"] > 0
    assert doc["runs"][0]["unit"] == "kcal/mol" and doc["wqml_dash_version"]


def test_a_parity_point_opens_its_molecule_in_the_explorer(fresh):
    run_id, series, size, seed = fresh.point
    view = fresh._point_view()
    y_true, y_pred = reference_predictions(run_id, series, size, seed)
    worst = int(np.argmax(np.abs(y_pred - y_true)))
    assert fresh.open_molecule.disabled
    fresh._parity_tap.event(index=[worst])  # what a click on the worst-predicted molecule sends
    molecule = int(reference_test_set(run_id, seed)[1][worst])
    assert fresh.parity_molecule == molecule and not fresh.open_molecule.disabled
    assert f"#{molecule}" in fresh.open_molecule.label
    asked = []
    fresh.navigation.param.watch(lambda e: asked.append(e.new), "qm9_index")
    fresh.open_molecule.clicks += 1
    fresh.open_molecule.clicks += 1  # asking again for the same molecule asks again
    assert asked == [molecule, molecule]
    assert view is not None


def test_a_launched_run_is_inspected_beside_the_reference(fresh):
    assert fresh.point[0] == DEFAULT_REFERENCE
    fresh.form.apply_values(dict(series=["sorted:w1"], sizes=[20, 40], n_test=50, folds=2))
    fresh.form.launch.clicks += 1
    assert fresh.shown_runs == [1, DEFAULT_REFERENCE] and fresh.point == (1, "sorted:w1", 40, 0)


def test_a_plot_drawn_anew_lets_go_of_the_old_ones_streams(fresh, monkeypatch):
    # Every redraw (a run added, the figure format) made DynamicMaps that watch `plotted`; the old ones
    # stayed subscribed, so each later update recomputed every plot the session had ever drawn.
    def watching_plotted():
        return sum(len(w) for w in fresh.param.watchers.get("plotted", {}).values())

    before = watching_plotted()
    for fmt in ("svg", "canvas", "svg", "canvas"):
        fresh.figure_format.value = fmt
    assert watching_plotted() == before
    hv.render(fresh.plot_pane.object)  # drawn, as on a page
    from wqml_dash.ui.curves import learning_curves_tab as module

    calls, layers = [], module.learning_curve_layers
    monkeypatch.setattr(module, "learning_curve_layers", lambda *a, **k: calls.append(1) or layers(*a, **k))
    fresh.plotted = fresh.summary.iloc[:-1]
    assert 0 < len(calls) <= 2  # the lines and the points of the plot on screen, nothing else


def test_the_figure_can_be_drawn_as_svg_for_the_save_tool(fresh):
    assert hv.render(fresh.plot_pane.object).output_backend == "canvas"  # the save tool writes PNG
    before = fresh.plot_pane.object
    fresh.figure_format.value = "svg"
    assert fresh.plot_pane.object is not before  # a new figure: Bokeh keeps the backend it was drawn with
    assert hv.render(fresh.plot_pane.object).output_backend == "svg"  # ... and now SVG
