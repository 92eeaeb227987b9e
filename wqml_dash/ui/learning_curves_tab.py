"""The "Learning curves" tab: launch runs, watch them fill in, compare curves, inspect a point.

Composition only: the form (`run_form`), the runs table (`runs_table`), the plots
(`curve_plots`, `parity_plots`); runs live in the shared store and executor (`runs_service`).
Each browser session polls the store once a second (a periodic callback removed when the
session ends), so runs started elsewhere (another tab, the CLI) show up too.
"""

from __future__ import annotations

import io
import json
import threading

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from ..core.data import PROPERTIES
from ..core.data.qm9 import QM9_SIZE
from ..runs.executor import RunExecutor
from .curve_plots import (curves_table, learning_curve_layers, learning_curve_plot, overlay_options, series_color,
                          series_label, summarize)
from .parity_plots import error_histogram, error_stats, parity_plot
from .run_form import RunForm
from .runs_service import runs_executor
from .runs_table import RunsTable

HELP = """
**Learning curves** (the paper's Fig. 3): test error against training-set size, log-log.
Choose series (atom order x metric), sizes and seeds on the left and launch; the run is
split into one task per series, size and seed on a Dask cluster, and each point appears
as soon as it is done. Select a run in the table to add it to the plot; hover a point
for sigma, lambda and timings; click it for its parity plot. Runs are stored, so they
survive a reload or a restart (Resume finishes an interrupted run).
"""


def _unit(target: str) -> str:
    return PROPERTIES.get(target, ("", ""))[0]


class LearningCurvesTab(pn.viewable.Viewer):
    """Form, runs table, learning-curve plot with chooser and export, and the selected point's parity plot.

    Parameters
    ----------
    store, executor : a `RunStore` and `RunExecutor` (default: the process's shared ones)
    refresh_seconds : how often a served session polls the store
    """

    store = param.Parameter(doc="The RunStore")
    executor = param.Parameter(doc="The RunExecutor")
    refresh_seconds = param.Number(default=1.0, bounds=(0.1, None))
    shown = param.Boolean(default=True, doc="""Whether the tab is on screen. A served session polls only
        then, and catches up when it is shown again: Panel keeps a hidden tab's Bokeh models detached
        from the page, and updating those would point their stylesheets at Panel's CDN.""")

    points = param.DataFrame(default=None, allow_None=True, doc="Points of every run in the store")
    summary = param.DataFrame(default=None, allow_None=True, doc="The plotted curves (seeds averaged)")
    shown_runs = param.List(default=[], item_type=int, doc="Run ids overlaid in the plot")
    shown_series = param.List(default=[], item_type=str, doc="Series shown in the plot")
    point = param.Tuple(default=None, allow_None=True, length=4, doc="(run_id, series, size, seed) inspected")

    def __init__(self, **params):
        store, executor = params.get("store"), params.get("executor")
        if executor is None:
            if store is None:
                executor = runs_executor()
            else:  # a store of one's own (a notebook, a test) gets an executor of its own
                executor = RunExecutor(store)
        params.update(store=store or executor.store, executor=executor)
        super().__init__(**params)
        self._signature = None
        self._starting: threading.Thread | None = None
        self._quick = None  # the store's fingerprint at the last full refresh (None: read it all)
        self._callback = None
        self._follow_newest = True  # show the newest run (this session's own, once it has launched one)
        self._own_runs: list[int] = []  # launched from this session: other users' runs don't take over its plot
        self._point_chosen = False  # the user picked the inspected point; until then it follows the largest size
        self._setting_point = False
        self.form = RunForm(submit=self._submit, n_molecules=QM9_SIZE)
        self.runs_table = RunsTable(store=self.store, executor=self.executor)
        self.run_chooser = pn.widgets.MultiChoice(label="Runs to show", options={}, value=[],
                                                  sizing_mode="stretch_width", min_width=260,
                                                  placeholder="Pick runs to overlay")
        self.series_chooser = pn.widgets.CheckButtonGroup(label="Series", options={}, value=[],
                                                          color="primary", variant="outline")
        self.point_run = pn.widgets.Select(label="Run", options={}, width=170)
        self.point_series = pn.widgets.Select(label="Series", options={}, width=130)
        self.point_size = pn.widgets.Select(label="Training size", options=[], width=110)
        self.point_seed = pn.widgets.Select(label="Seed", options=[], width=80)
        self.csv_download = pn.widgets.FileDownload(callback=self.curves_csv, filename="learning_curves.csv",
                                                    label="Curves as CSV", color="light", width=150)
        self.json_download = pn.widgets.FileDownload(callback=self.curves_json, filename="learning_curves.json",
                                                     label="Curves as JSON", color="light", width=150)
        self.dashboard = pn.pane.Markdown("", margin=(0, 10), css_classes=["wqml-dask-link"])

        self.run_chooser.param.watch(self._on_run_choice, "value")
        self.series_chooser.param.watch(self._on_series_choice, "value")
        for w in (self.point_run, self.point_series, self.point_size, self.point_seed):
            w.param.watch(self._on_point_widgets, "value")
        self.runs_table.param.watch(self._on_table_selection, "selected_run")

        # Lines and points are separate DynamicMaps so that the tap stream attaches to the points.
        self._points = hv.DynamicMap(self._points_layer)
        self._curves = (hv.DynamicMap(self._lines_layer) * self._points).opts(overlay_options())
        self._tap = hv.streams.Selection1D(source=self._points)
        self._tap.add_subscriber(self._on_tap)
        self.refresh()

    # -- polling ------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read runs and points from the store; update the table, choosers and plot if anything changed.

        While this process runs nothing, a store whose `RunStore.fingerprint` is unchanged is not
        read again: a class of idle sessions polls with one small query each.
        """
        link = self.executor.dashboard_link
        quick = None if self.executor.active_runs() else (self.store.fingerprint(), link)
        if quick is not None and quick == self._quick:
            return
        self._quick = quick
        runs = self.runs_table.refresh()
        signature = tuple(zip(runs["id"], runs["n_done"], runs["status"], runs["name"], strict=True))
        self.dashboard.object = (f'<a href="{link}" target="_blank" rel="noopener">Dask dashboard</a> (tasks, '
                                 f'workers, memory; opens in a new tab)' if link
                                 else "Dask dashboard: available once the first run has started the cluster.")
        if signature == self._signature:
            return
        self._signature = signature
        self._update_run_options(runs)
        self.points = self.store.points(list(runs["id"]))
        self._update_summary()
        self._update_point_options()

    def start_polling(self) -> None:
        """Refresh every `refresh_seconds` in this (served) session; stops when the session ends."""
        if self._callback is not None:
            return
        self._callback = pn.state.add_periodic_callback(self._poll, period=int(1000 * self.refresh_seconds))
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            pn.state.on_session_destroyed(lambda _ctx: self.stop_polling())

    def _poll(self) -> None:
        if self.shown:
            self.refresh()

    @param.depends("shown", watch=True)
    def _on_shown(self) -> None:
        if self.shown and self._callback is not None:
            self._start_cluster_in_background()
            self.refresh()

    def _start_cluster_in_background(self) -> None:
        """Start the executor's cluster in a thread the first time a served session shows the tab.

        Starting the embedded Dask cluster takes seconds (more on a busy machine); done by the
        first launch, it held the server's event loop and every session's slider with it. Now it
        runs while the user fills in the form; a launch before it is ready waits for it.
        """
        if getattr(self.executor, "started", True) or self._starting is not None:
            return
        self._starting = threading.Thread(target=self._start_cluster, name="wqml-cluster-start", daemon=True)
        self._starting.start()

    def _start_cluster(self) -> None:
        try:
            self.executor.start()
        except Exception:  # noqa: BLE001 (the launch reports what is wrong with the cluster)
            pass

    def stop_polling(self) -> None:
        if self._callback is not None:
            self._callback.stop()
            self._callback = None

    # -- launching ----------------------------------------------------------------------
    def _submit(self, config) -> str:
        run_id = self.executor.submit(config)
        self._own_runs.append(int(run_id))
        self._follow_newest = True
        self._point_chosen = False
        self.refresh()
        self.runs_table.select(run_id)
        return f"Run {run_id} launched: {len(config.tasks())} points. It shows in the table and the plot."

    # -- choosers -----------------------------------------------------------------------
    def _run_label(self, run) -> str:
        return f"#{int(run.id)} {run.name}"

    def _update_run_options(self, runs: pd.DataFrame) -> None:
        options = {self._run_label(r): int(r.id) for r in runs.sort_values("id", ascending=False).itertuples()}
        ids = set(options.values())
        shown = [r for r in self.shown_runs if r in ids]
        if self._follow_newest and len(runs):
            own = [r for r in self._own_runs if r in ids]
            newest = max(own) if own else int(runs["id"].max())
            if newest not in shown:
                shown = [newest, *shown] if shown and len(self.shown_runs) > 1 else [newest]
        self.shown_runs = shown  # first: the chooser's watcher ignores values equal to it
        self.run_chooser.options = options
        self.run_chooser.value = shown

    def _on_run_choice(self, event):
        if list(event.new) != list(self.shown_runs):
            self._follow_newest = False
            self.shown_runs = [int(r) for r in event.new]
            self._update_summary()
            self._update_point_options()

    def _on_series_choice(self, event):
        self.shown_series = list(event.new)
        self._update_summary()

    def _on_table_selection(self, event):
        run_id = event.new
        if run_id is None:
            return
        if run_id not in self.shown_runs and run_id in self.run_chooser.options.values():
            self.run_chooser.value = [*self.run_chooser.value, run_id]
        if run_id in self.point_run.options.values():
            self.point_run.value = run_id

    def _run_names(self) -> dict[int, str]:
        runs = self.runs_table.runs
        if runs is None:
            return {}
        return {int(r.id): f"#{int(r.id)} {r.name}" for r in runs.itertuples()}

    def _update_summary(self) -> None:
        pts = self.points
        if pts is None:
            self.summary = summarize(None)
            return
        pts = pts[pts["run_id"].isin(self.shown_runs)]
        present = list(dict.fromkeys(pts.sort_values("series")["series"]))
        options = {series_label(s): s for s in present}
        if options != self.series_chooser.options:
            keep = [s for s in self.series_chooser.value if s in present]
            new_series = [s for s in present if s not in self.series_chooser.options.values()]
            self.series_chooser.options = options
            self.series_chooser.value = keep + new_series
        chosen = self.series_chooser.value
        pts = pts[pts["series"].isin(chosen)]
        self.summary = summarize(pts, self._run_names())

    # -- the plot -----------------------------------------------------------------------
    def _unit(self) -> str:
        runs = self.runs_table.runs
        if runs is None or not self.shown_runs:
            return _unit("atomization_energy")
        targets = {r.config.get("target") for r in runs.itertuples() if r.id in self.shown_runs}
        return _unit(targets.pop()) if len(targets) == 1 else "target units"

    @param.depends("summary")
    def _plot(self):
        """The current curves as one static overlay."""
        return learning_curve_plot(self.summary, unit=self._unit())

    @param.depends("summary")
    def _lines_layer(self):
        lines, bars, _ = learning_curve_layers(self.summary, self._unit())
        return lines * bars

    @param.depends("summary")
    def _points_layer(self):
        return learning_curve_layers(self.summary, self._unit())[2]

    def _on_tap(self, index):
        if not index or self.summary is None or index[0] >= len(self.summary):
            return
        row = self.summary.iloc[index[0]]
        key = (int(row.run_id), row.series, int(row["size"]))
        seed = self.point[3] if self.point and self.point[:3] == key else None
        if seed is None:
            pts = self.points
            seeds = pts[(pts.run_id == row.run_id) & (pts.series == row.series) & (pts["size"] == row["size"])]["seed"]
            seed = int(seeds.min()) if len(seeds) else 0
        self.select_point(int(row.run_id), row.series, int(row["size"]), seed)

    # -- the selected point -------------------------------------------------------------
    def select_point(self, run_id: int, series: str, size: int, seed: int) -> None:
        """Show one point's parity plot and error histogram."""
        self._point_chosen = True
        self._update_point_options(run_id, series, size, seed)

    def _update_point_options(self, run_id=None, series=None, size=None, seed=None) -> None:
        pts = self.points
        if pts is None or not len(pts):
            self.point = None
            return
        current = self.point or (None, None, None, None)
        run_id = run_id if run_id is not None else current[0]
        with_points = set(pts["run_id"])
        runs = [r for r in self.shown_runs if r in with_points] or sorted(with_points, reverse=True)
        if run_id not in runs:  # the inspected point follows the runs shown in the plot
            run_id = runs[0]
        names = self._run_names()
        of_run = pts[pts["run_id"] == run_id]
        series_opts = list(dict.fromkeys(of_run.sort_values("series")["series"]))
        series = series if series is not None else current[1]
        if series not in series_opts:
            series = series_opts[0]
        of_series = of_run[of_run["series"] == series]
        sizes = sorted(set(int(s) for s in of_series["size"]))
        # Until the user picks a point, show the largest finished size: a live run's newest point.
        size = size if size is not None else (current[2] if self._point_chosen else None)
        if size not in sizes:
            size = sizes[-1]
        seeds = sorted(set(int(s) for s in of_series[of_series["size"] == size]["seed"]))
        seed = seed if seed is not None else current[3]
        if seed not in seeds:
            seed = seeds[0]
        self._setting_point = True
        try:
            self.point_run.options = {names.get(r, f"run {r}"): r for r in dict.fromkeys([*runs, run_id])}
            self.point_run.value = run_id
            self.point_series.options = {series_label(s): s for s in series_opts}
            self.point_series.value = series
            self.point_size.options = sizes
            self.point_size.value = size
            self.point_seed.options = seeds
            self.point_seed.value = seed
        finally:
            self._setting_point = False
        self.point = (int(run_id), series, int(size), int(seed))

    def _on_point_widgets(self, event):
        if self._setting_point:
            return
        self._point_chosen = True
        self._update_point_options(self.point_run.value, self.point_series.value, self.point_size.value,
                                   self.point_seed.value)

    @param.depends("point")
    def _point_view(self):
        if self.point is None:
            return pn.pane.Markdown("Finished points appear here: click one in the plot, or choose it above.",
                                    css_classes=["wqml-hint"])
        run_id, series, size, seed = self.point
        try:
            y_true, y_pred = self.store.predictions(run_id, series, size, seed)
        except KeyError:
            return pn.pane.Alert(f"No test-set predictions stored for run {run_id}, {series}, n={size}, "
                                 f"seed {seed}.", alert_type="warning")
        run = self.store.get_run(run_id)
        unit = _unit(run["config"].get("target", "atomization_energy"))
        stats = error_stats(y_true, y_pred)
        color = series_color(series)
        title = f"#{run_id} {series_label(series)}, n = {size:,}, seed {seed}"
        text = (f"**{title}**: {y_true.size:,} test molecules · MAE **{stats['mae']:.3g}** · RMSE "
                f"{stats['rmse']:.3g} · largest error {stats['max']:.3g} · mean error {stats['bias']:+.3g} "
                f"({unit})")
        return pn.Column(
            pn.pane.Markdown(text, margin=(0, 10), css_classes=["wqml-point-stats"]),
            pn.Row(pn.pane.HoloViews(parity_plot(y_true, y_pred, unit, color=color, title="Predicted vs "
                                                 "reference (test set)"), sizing_mode="stretch_width"),
                   pn.pane.HoloViews(error_histogram(y_true, y_pred, unit, color=color),
                                     sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            sizing_mode="stretch_width")

    @param.depends("summary")
    def _plot_hint(self):
        if self.summary is not None and len(self.summary):
            return pn.Spacer(height=0)
        text = ("No finished points to show yet: launch a run (or pick one above); points appear as they finish."
                if len(self.runs_table.table.value) else "No runs yet: launch one with the form.")
        return pn.pane.Markdown(text, css_classes=["wqml-hint"], margin=(0, 10))

    # -- export -------------------------------------------------------------------------
    def _shown_points(self) -> pd.DataFrame:
        pts = self.points if self.points is not None else pd.DataFrame()
        if not len(pts):
            return pts
        pts = pts[pts["run_id"].isin(self.shown_runs) & pts["series"].isin(self.series_chooser.value)]
        names = self._run_names()
        return pts.assign(run=[names.get(int(r), "") for r in pts["run_id"]])

    def curves_csv(self) -> io.StringIO:
        """One row per shown point and seed (mean and spread are in the JSON export)."""
        pts = self._shown_points()
        buf = io.StringIO()
        if len(pts):
            pts = pts.rename(columns={"lam": "lambda"})
            pts = pts.assign(finished=pts["finished"].astype(str))
        pts.to_csv(buf, index=False)
        buf.seek(0)
        return buf

    def curves_json(self) -> io.StringIO:
        """The shown runs' settings, the plotted curves (seeds averaged) and every point."""
        runs = self.runs_table.runs
        shown = runs[runs["id"].isin(self.shown_runs)] if runs is not None else pd.DataFrame()
        pts = self._shown_points()
        doc = {
            "runs": [{"id": int(r.id), "name": r.name, "status": r.status, "config": r.config,
                      "created": str(r.created)} for r in shown.itertuples()],
            "curves": json.loads(curves_table(self.summary).to_json(orient="records")) if self.summary is not None
            else [],
            "points": json.loads(pts.rename(columns={"lam": "lambda"}).assign(
                finished=pts["finished"].astype(str)).to_json(orient="records")) if len(pts) else [],
        }
        return io.StringIO(json.dumps(doc, indent=1, default=_jsonable))

    # -- layout -------------------------------------------------------------------------
    def __panel__(self):
        pn.state.onload(self.start_polling)
        plot = pn.pane.HoloViews(self._curves, sizing_mode="stretch_width", min_height=340,
                                 css_classes=["wqml-curve-plot"], name="curve-plot")
        curves = pn.Column(
            pn.pane.Markdown("#### Learning curves", margin=(0, 10)),
            pn.Row(self.run_chooser, sizing_mode="stretch_width"),
            pn.Row(pn.pane.Markdown("Series", margin=(8, 5, 0, 10), width=50), self.series_chooser),
            self._plot_hint,
            plot,
            pn.Row(self.csv_download, self.json_download,
                   pn.pane.Markdown("PNG: the save icon in the plot's toolbar.", css_classes=["wqml-hint"],
                                    margin=(12, 10)), sizing_mode="stretch_width"),
            sizing_mode="stretch_width", min_width=520, css_classes=["wqml-card"])
        runs = pn.Column(pn.pane.Markdown("#### Runs", margin=(0, 10)), self.runs_table, self.dashboard,
                         sizing_mode="stretch_width", css_classes=["wqml-card"])
        detail = pn.Column(
            pn.pane.Markdown("#### Selected point", margin=(0, 10)),
            pn.Row(self.point_run, self.point_series, self.point_size, self.point_seed),
            self._point_view,
            sizing_mode="stretch_width", css_classes=["wqml-card"])
        form = pn.Column(pn.pane.Markdown("#### New run", margin=(0, 10)), self.form, width=370,
                         css_classes=["wqml-card"])
        curves.styles = {"flex": "1 1 540px"}
        return pn.Column(
            pn.pane.Markdown(HELP, css_classes=["wqml-help"], margin=(0, 10)),
            runs,
            pn.FlexBox(form, curves, flex_wrap="wrap", align_items="flex-start", sizing_mode="stretch_width"),
            detail,
            sizing_mode="stretch_width", name="learning-curves")


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
