"""The "Learning curves" tab: launch runs, watch them fill in, compare curves, inspect a point.

Composition only: the form (`run_form`), the runs table (`runs_table`), the plots
(`curve_plots`, `parity_plots`); runs live in the shared store and executor (`runs_service`).
Each browser session polls the store once a second (a periodic callback removed when the
session ends), so runs started elsewhere (another tab, the CLI) show up too.
"""

from __future__ import annotations

import functools
import io
import threading

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import param

from ...core.data.dataset import unit_of
from ...core.data.qm9 import QM9_SIZE
from ...core.learn.results import error_stats
from ...core.learn.series import Series
from ...runs.executor import RunExecutor
from ...runs.reference import (
    DEFAULT_REFERENCE,
    is_reference,
    reference_points,
    reference_predictions,
    reference_run,
    reference_runs,
    reference_test_set,
)
from ...runs.export import curves_json, points_csv, run_data_name, run_unit
from ...runs.summary import run_tag, summarize
from ..data.data_sets import unit_text
from ..navigation import Navigation
from .curve_plots import (
    learning_curve_layers,
    learning_curve_plot,
    overlay_options,
    run_key,
    series_color,
)
from .parity_plots import error_histogram, parity_plot
from .run_form import RunForm
from .runs_service import runs_executor
from .runs_table import RunsTable, run_title, same_quantity
from .search_view import search_panel

HELP = """
**Learning curves** (the paper's Fig. 3): test error against training-set size, log-log.
Choose series (atom order x metric), sizes and seeds on the left and launch; the run is
split into one task per series, size and seed on a Dask cluster, and each point appears
as soon as it is done. Select a run in the table to add it to the plot; hover a point
for sigma, lambda and timings; click it for its parity plot, and a molecule there to open
it in the explorer. Runs are stored, so they survive a reload or a restart (Resume finishes
an interrupted run). The **reference curves** (R1, R2, ...) were computed once with this
program and ship with it, so the paper's Fig. 3 is here before any run has finished.
"""


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
    plotted = param.DataFrame(default=None, allow_None=True, precedence=-1,
                              doc="What the live plot shows: `summary`, updated in place or redrawn")
    shown_runs = param.List(default=[], item_type=int, doc="Run ids overlaid in the plot")
    shown_series = param.List(default=[], item_type=str, doc="Series shown in the plot")
    point = param.Tuple(default=None, allow_None=True, length=4, doc="(run_id, series, size, seed) inspected")
    navigation = param.ClassSelector(class_=Navigation, doc="Where 'open in explorer' requests go")
    show_reference = param.Boolean(default=True, doc="Whether a new session shows the default reference run")
    parity_molecule = param.Integer(default=None, allow_None=True,
                                    doc="QM9 index of the test molecule picked in the parity plot")
    data_sets = param.Dict(default=None, allow_None=True, precedence=-1,
                           doc="Name -> file of the data sets the form offers (default: `data_sets.catalogue`)")

    def __init__(self, **params):
        store, executor = params.get("store"), params.get("executor")
        if executor is None:
            if store is None:
                executor = runs_executor()
            else:  # a store of one's own (a notebook, a test) gets an executor of its own
                executor = RunExecutor(store)
        params.update(store=store or executor.store, executor=executor)
        params.setdefault("navigation", Navigation())
        super().__init__(**params)
        self._signature = None
        self._starting: threading.Thread | None = None
        self._quick = None  # the store's fingerprint at the last full refresh (None: read it all)
        self._callback = None
        self._first_look = True  # a new session shows the newest run and the default reference
        self._follow_newest = True  # until the user picks runs: show the newest stored run if none is shown
        self._own_added: set[int] = set()  # own runs already added to the plot (once: the user may remove them)
        self._own_runs: list[int] = []  # launched from this session: other users' runs don't take over its plot
        self._point_chosen = False  # the user picked the inspected point; until then it follows the largest size
        self._setting_point = False
        self.form = RunForm(submit=self._submit, n_molecules=QM9_SIZE, data_sets=self.data_sets)
        self.runs_table = RunsTable(store=self.store, executor=self.executor)
        self.run_chooser = pn.widgets.MultiChoice(label="Runs to show (they stay until you remove them)",
                                                  options={}, value=[], sizing_mode="stretch_width",
                                                  min_width=260, placeholder="Pick runs to overlay")
        self.reference_toggle = pn.widgets.Checkbox(label="Reference curves (precomputed)", value=self.show_reference,
                                                    margin=(28, 10, 0, 10), width=230)
        self.run_key = pn.pane.Markdown("", margin=(0, 10), css_classes=["wqml-run-key"])
        self.open_molecule = pn.widgets.Button(label="Open in explorer", disabled=True, width=150,
                                               color="primary", css_classes=["wqml-open-parity-molecule"])
        self.series_chooser = pn.widgets.CheckButtonGroup(label="Series", options={}, value=[],
                                                          color="primary", variant="outline")
        self.point_run = pn.widgets.Select(label="Run", options={}, width=170)
        self.point_series = pn.widgets.Select(label="Series", options={}, width=130)
        self.point_size = pn.widgets.Select(label="Training size", options=[], width=110)
        self.point_seed = pn.widgets.Select(label="Seed", options=[], width=80)
        self.csv_download = pn.widgets.FileDownload(callback=self.curves_csv, filename="learning_curves.csv",
                                                    label="Curves as CSV", color="light", width=150)
        self.figure_format = pn.widgets.RadioButtonGroup(options={"PNG": "canvas", "SVG": "svg"}, value="canvas",
                                                         color="light", width=110, margin=(10, 5),
                                                         css_classes=["wqml-figure-format"])
        self.json_download = pn.widgets.FileDownload(callback=self.curves_json, filename="learning_curves.json",
                                                     label="Curves as JSON", color="light", width=150)
        self.dashboard = pn.pane.Markdown("", margin=(0, 10), css_classes=["wqml-dask-link"])

        self.run_chooser.param.watch(self._on_run_choice, "value")
        self.reference_toggle.param.watch(self._on_reference_toggle, "value")
        self.open_molecule.on_click(lambda _event: self._open_parity_molecule())
        self.figure_format.param.watch(self._on_figure_format, "value")
        self.series_chooser.param.watch(self._on_series_choice, "value")
        for w in (self.point_run, self.point_series, self.point_size, self.point_seed):
            w.param.watch(self._on_point_widgets, "value")
        self.runs_table.param.watch(self._on_table_selection, "selected_run")

        self._make_curves()
        self.plot_pane = pn.pane.HoloViews(self._curves, sizing_mode="stretch_width", min_height=340,
                                           css_classes=["wqml-curve-plot"], name="curve-plot")
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
        self.points = pd.concat([reference_points(), self.store.points(list(runs["id"]))], ignore_index=True)
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
        self._point_chosen = False
        self.refresh()
        self.runs_table.select(run_id)
        return f"Run {run_id} launched: {len(config.tasks())} points. It shows in the table and the plot."

    # -- choosers -----------------------------------------------------------------------
    def _run_label(self, run) -> str:
        if is_reference(run.id):
            return f"{run_tag(int(run.id))} {run.name} (reference, precomputed)"
        return f"#{int(run.id)} {run_title(run.name, run.config)}"

    def _update_run_options(self, runs: pd.DataFrame) -> None:
        """Offer every stored run (newest first) and the reference runs.

        Shown runs stay until the user removes them. A new session shows the default reference; a
        run launched here is added once; until the user picks runs, a session that shows no stored
        run picks up the newest one (a run launched elsewhere does not take over its plot).
        """
        options = {self._run_label(r): int(r.id) for r in runs.sort_values("id", ascending=False).itertuples()}
        options.update({self._run_label(r): int(r.id) for r in reference_runs().itertuples()})
        ids = set(options.values())
        shown = [r for r in self.shown_runs if r in ids]
        if self._first_look:
            self._first_look = False
            shown = [DEFAULT_REFERENCE] if self.show_reference else []
        for run_id in self._own_runs:
            if run_id in ids and run_id not in self._own_added:
                self._own_added.add(run_id)
                if run_id not in shown:
                    shown = [run_id, *shown]
        if self._follow_newest and len(runs) and all(is_reference(r) for r in shown):
            shown = [int(runs["id"].max()), *shown]
        if shown and shown[0] not in self.shown_runs:  # a run added here: only curves of its target and unit
            configs = {int(r.id): r.config for frame in (runs, reference_runs()) for r in frame.itertuples()}
            shown = same_quantity(shown, shown[0], configs)
        self.shown_runs = shown  # first: the chooser's watcher ignores values equal to it
        self.run_chooser.options = options
        self.run_chooser.value = shown

    def _on_run_choice(self, event):
        if list(event.new) != list(self.shown_runs):
            self._follow_newest = False
            self.shown_runs = [int(r) for r in event.new]
            self._update_summary()
            self._update_point_options()
        shows_reference = any(is_reference(r) for r in self.shown_runs)
        if self.reference_toggle.value != shows_reference:
            self.reference_toggle.value = shows_reference

    def _on_reference_toggle(self, event):
        shown = list(self.run_chooser.value)
        has = [r for r in shown if is_reference(r)]
        if event.new and not has:
            self.run_chooser.value = [*shown, DEFAULT_REFERENCE]
        elif not event.new and has:
            self.run_chooser.value = [r for r in shown if not is_reference(r)]

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
        names = {int(r.id): self._run_label(r) for r in reference_runs().itertuples()}
        if runs is not None:
            names.update({int(r.id): self._run_label(r) for r in runs.itertuples()})
        return names

    def _run_representations(self) -> dict[int, str]:
        runs = self.runs_table.runs
        every = [reference_runs()] + ([runs] if runs is not None else [])
        return {int(r.id): (r.config or {}).get("representation", "cm") for frame in every for r in frame.itertuples()}

    def _run(self, run_id: int) -> dict:
        """A stored or reference run (`RunStore.get_run` fields). KeyError if there is none."""
        return reference_run(run_id) if is_reference(run_id) else self.store.get_run(run_id)

    def _update_summary(self) -> None:
        pts = self.points
        if pts is None:
            self.summary = summarize(None)
            return
        pts = pts[pts["run_id"].isin(self.shown_runs)]
        present = list(dict.fromkeys(pts.sort_values("series")["series"]))
        options = {Series.parse(s).label: s for s in present}
        if options != self.series_chooser.options:
            keep = [s for s in self.series_chooser.value if s in present]
            new_series = [s for s in present if s not in self.series_chooser.options.values()]
            before = list(self.series_chooser.value)
            self.series_chooser.options = options
            self.series_chooser.value = keep + new_series
            if list(self.series_chooser.value) != before:
                return  # the chooser's watcher (_on_series_choice) has updated the summary
        chosen = self.series_chooser.value
        pts = pts[pts["series"].isin(chosen)]
        names = self._run_names()
        self.run_key.object = run_key({r: names.get(r, run_tag(r)).removeprefix(f"{run_tag(r)} ")
                                       for r in self.shown_runs if r in set(pts["run_id"])})
        if all(is_reference(r) for r in self.shown_runs):  # every new session: summarised once per process
            self.summary = _reference_summary(tuple(self.shown_runs), tuple(chosen))
        else:
            self.summary = summarize(pts, names, self._run_representations())

    # -- the plot -----------------------------------------------------------------------
    def _unit(self) -> str:
        runs = self.runs_table.runs
        every = pd.concat([reference_runs(), runs]) if runs is not None else reference_runs()
        # Runs share an axis unit only when their target and its unit match (a data set's unit is its own).
        keys = {(r.config.get("target", "atomization_energy"), run_unit(r.config))
                for r in every.itertuples() if r.id in self.shown_runs}
        if not keys:
            return unit_of("atomization_energy")
        return unit_text(keys.pop()[1]) if len(keys) == 1 else "target units"

    def _make_curves(self) -> None:
        """The live plot: lines and points are separate DynamicMaps so that the tap stream attaches
        to the points. A plot drawn anew first lets go of the old one's streams: each DynamicMap of
        a method watches ``plotted``, and old ones would otherwise be recomputed at every update."""
        for dmap in getattr(self, "_dmaps", ()):
            for stream in dmap.streams:
                if hasattr(stream, "unwatch"):
                    stream.unwatch()
        if getattr(self, "_tap", None) is not None:
            self._tap.clear()
        self._points = hv.DynamicMap(self._points_layer)
        lines = hv.DynamicMap(self._lines_layer)
        self._dmaps = (lines, self._points)
        self._curves = (lines * self._points).opts(
            overlay_options(), hv.opts.Overlay(hooks=[self._figure_backend]))
        self._tap = hv.streams.Selection1D(source=self._points)
        self._tap.add_subscriber(self._on_tap)

    def _figure_backend(self, plot, element) -> None:
        """Draw on a canvas (the save tool writes PNG) or as SVG (it writes SVG), as chosen."""
        plot.state.output_backend = self.figure_format.value

    def _on_figure_format(self, _event) -> None:
        # A Bokeh figure keeps the backend it was drawn with: draw a new one.
        self._make_curves()
        self.plot_pane.object = self._curves

    @param.depends("summary")
    def _plot(self):
        """The current curves as one static overlay."""
        return learning_curve_plot(self.summary, unit=self._unit())

    @param.depends("summary", watch=True)
    def _follow_summary(self) -> None:
        """Update the live plot in place while its curves stay the same (points arriving); draw it anew
        when curves come or go. Bokeh 3.9 fails to draw a field legend whose entries change in place
        ('Offset is outside the bounds of the DataView' when a run was added to the plot)."""
        if self.plotted is None or _curve_keys(self.summary) == _curve_keys(self.plotted):
            self.plotted = self.summary
            return
        with param.parameterized.discard_events(self):
            self.plotted = self.summary
        self._make_curves()
        self.plot_pane.object = self._curves

    @param.depends("plotted")
    def _lines_layer(self):
        lines, bars, _ = learning_curve_layers(self.plotted, self._unit())
        return lines * bars

    @param.depends("plotted")
    def _points_layer(self):
        return learning_curve_layers(self.plotted, self._unit())[2]

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
        runs = [r for r in self.shown_runs if r in with_points]  # the inspected point follows the plot
        if not runs:
            self.point = None
            return
        if not self._point_chosen and self._own_runs and self._own_runs[-1] in runs:
            run_id = self._own_runs[-1]  # a run launched here is inspected as its points arrive
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
            self.point_series.options = {Series.parse(s).label: s for s in series_opts}
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
            y_true, y_pred = (reference_predictions if is_reference(run_id) else self.store.predictions)(
                run_id, series, size, seed)
        except KeyError:
            what = "shipped" if is_reference(run_id) else "stored"
            return pn.pane.Alert(f"No test-set predictions {what} for run {run_tag(run_id)}, {series}, n={size}, "
                                 f"seed {seed}.", alert_type="warning")
        molecules = self._test_molecules(run_id, seed)
        self._parity_molecules = molecules
        self.parity_molecule = None
        run = self._run(run_id)
        unit, data = unit_text(run_unit(run["config"])), run_data_name(run["config"])
        stats = error_stats(y_true, y_pred)
        color = series_color(series)
        title = (f"{run_tag(run_id)} {Series.parse(series, run['config'].get('representation', 'cm')).label}, "
                 f"n = {size:,}, seed {seed}")
        of = "" if data == "QM9" else f" of {data}"
        text = (f"**{title}**: {y_true.size:,} test molecules{of} · MAE **{stats['mae']:.3g}** · RMSE "
                f"{stats['rmse']:.3g} · largest error {stats['max']:.3g} · mean error {stats['bias']:+.3g} "
                f"({unit})")
        parity = parity_plot(y_true, y_pred, unit, color=color, title="Predicted vs reference (test set)",
                             molecules=molecules, index_label="QM9 index" if data == "QM9" else "Frame",
                             tappable=data == "QM9")  # the explorer opens QM9 molecules, not a file's frames
        choice = (pn.Row(self._parity_choice, self.open_molecule, sizing_mode="stretch_width") if data == "QM9" else
                  pn.pane.Markdown(f"Test molecules are frames of {data} (the hover gives their numbers).",
                                   margin=(8, 10), css_classes=["wqml-hint"]))
        if molecules is not None and data == "QM9":
            scatter = next(el for el in parity if isinstance(el, hv.Scatter))
            self._parity_tap = hv.streams.Selection1D(source=scatter)
            self._parity_tap.add_subscriber(self._on_parity_tap)
        return pn.Column(
            pn.pane.Markdown(text, margin=(0, 10), css_classes=["wqml-point-stats"]),
            choice,
            pn.Row(pn.pane.HoloViews(parity, sizing_mode="stretch_width", css_classes=["wqml-parity-plot"]),
                   pn.pane.HoloViews(error_histogram(y_true, y_pred, unit, color=color),
                                     sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            search_panel(*self._point_search(run_id, series, size, seed), unit, color),
            sizing_mode="stretch_width")

    def _point_search(self, run_id: int, series: str, size: int, seed: int):
        """(the point's stored row, its CV table or None) for `search_panel`."""
        points = reference_points(run_id) if is_reference(run_id) else self.store.points(run_id)
        rows = points[(points.series == series) & (points["size"] == size) & (points.seed == seed)]
        if rows.empty:
            return None, None
        table = None if is_reference(run_id) else self.store.cv_table(run_id, series, size, seed)
        return rows.iloc[0], table

    def _test_molecules(self, run_id: int, seed: int) -> np.ndarray | None:
        """QM9 indices (a data-set run: frame numbers) (n_test,) of a point's test set, None where not recorded."""
        try:
            rows = (reference_test_set(run_id, seed)[1] if is_reference(run_id)
                    else self.store.test_set(run_id, seed)[1])
        except KeyError:
            return None
        return rows

    def _on_parity_tap(self, index):
        molecules = getattr(self, "_parity_molecules", None)
        if not index or molecules is None or index[0] >= len(molecules):
            self.parity_molecule = None
            return
        self.parity_molecule = int(molecules[index[0]])

    @param.depends("parity_molecule", watch=True)
    def _on_parity_molecule(self):
        self.open_molecule.disabled = self.parity_molecule is None
        self.open_molecule.label = ("Open in explorer" if self.parity_molecule is None
                                    else f"Open QM9 #{self.parity_molecule} in explorer")

    @param.depends("parity_molecule")
    def _parity_choice(self):
        text = ("Click a test molecule in the parity plot to open it in the displacement explorer."
                if self.parity_molecule is None else f"Selected: **QM9 #{self.parity_molecule}**")
        return pn.pane.Markdown(text, margin=(8, 10), css_classes=["wqml-hint"])

    def _open_parity_molecule(self) -> None:
        if self.parity_molecule is not None:
            self.navigation.open_qm9(self.parity_molecule)

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

    def _shown_runs_frame(self) -> pd.DataFrame:
        runs = self.runs_table.runs
        every = pd.concat([runs, reference_runs()], ignore_index=True) if runs is not None else reference_runs()
        return every[every["id"].isin(self.shown_runs)]

    def curves_csv(self) -> io.StringIO:
        """One row per shown point and seed, with its run's settings and the units in the column names
        (mean and spread are in the JSON export)."""
        return io.StringIO(points_csv(self._shown_points(), self._shown_runs_frame()))

    def curves_json(self) -> io.StringIO:
        """The shown runs' settings (and a reference run's provenance), the plotted curves (seeds
        averaged) and every point."""
        return io.StringIO(curves_json(self._shown_runs_frame(), self.summary, self._shown_points()))

    # -- layout -------------------------------------------------------------------------
    def __panel__(self):
        pn.state.onload(self.start_polling)
        plot = self.plot_pane
        curves = pn.Column(
            pn.pane.Markdown("#### Learning curves", margin=(0, 10)),
            pn.Row(self.run_chooser, self.reference_toggle, sizing_mode="stretch_width"),
            pn.Row(pn.pane.Markdown("Series", margin=(8, 5, 0, 10), width=50), self.series_chooser),
            self._plot_hint,
            plot,
            self.run_key,
            pn.Row(self.csv_download, self.json_download,
                   pn.pane.Markdown("Figure: the save icon in the plot's toolbar saves it as",
                                    css_classes=["wqml-hint"],
                                    margin=(12, 0, 0, 10)), self.figure_format, sizing_mode="stretch_width"),
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


@functools.lru_cache(maxsize=64)
def _reference_summary(run_ids: tuple[int, ...], series: tuple[str, ...]) -> pd.DataFrame:
    """`summarize` of reference runs only (what every new session shows first), computed once per
    process; the frame is shared between sessions and must not be changed."""
    runs = reference_runs()
    names = {int(r.id): f"{run_tag(int(r.id))} {r.name} (reference, precomputed)" for r in runs.itertuples()}
    pts = reference_points(list(run_ids))
    reps = {int(r.id): (r.config or {}).get("representation", "cm") for r in runs.itertuples()}
    return summarize(pts[pts["series"].isin(series)], names, reps)


def _curve_keys(summary: pd.DataFrame | None) -> set:
    """The (run, series) curves of a `summarize` frame."""
    if summary is None:
        return set()
    return set(zip(summary["run_id"], summary["series"], strict=True))
