"""The runs table: every run of the store with its status, progress and time left, and buttons
to cancel, resume and delete it."""

from __future__ import annotations

import asyncio
import html

import pandas as pd
import panel as pn
import param
from bokeh.models import Tooltip

from ...runs.export import run_data_name, run_unit
from ...runs.store import ACTIVE_STATUSES

STATUS_COLORS = {"queued": "#6c757d", "running": "#0b5ed7", "finished": "#198754", "failed": "#dc3545",
                 "cancelled": "#b35900", "interrupted": "#6f42c1"}

#: Columns of the displayed frame (`RunsTable.frame`); the button columns are added by Tabulator.
COLUMNS = ["id", "name", "data", "status", "progress", "created", "settings", "message"]
#: Shown in the table; the settings and latest message of the selected run are shown below it.
VISIBLE = ["id", "name", "data", "status", "progress", "created"]
_TITLES = {"id": "#", "name": "Name", "data": "Data set", "status": "Status",
           "progress": "Progress (points, time left)", "created": "Created (UTC)", "settings": "Settings",
           "message": "Latest",
           "cancel": "", "resume": "", "delete": ""}
#: Actions on the selected run: button label, tooltip, and the statuses for which it is offered.
ACTIONS = {"cancel": ("Cancel", "Stop the selected run; its finished points are kept", ACTIVE_STATUSES),
           "resume": ("Resume", "Compute the selected run's missing points", ("cancelled", "failed", "interrupted")),
           "delete": ("Delete", "Delete the selected run with its points",
                      ("finished", "cancelled", "failed", "interrupted"))}


def status_badge(status: str) -> str:
    """HTML for a coloured status label (styled inline: Tabulator cells live in a shadow root)."""
    color = STATUS_COLORS.get(status, "#6c757d")
    return (f"<span class='wqml-status wqml-status-{status}' style='background:{color};color:white;"
            f"border-radius:0.6em;padding:0.05em 0.6em;font-size:0.85em'>{html.escape(status)}</span>")


def progress_bar(done: int, total: int, eta: str = "", status: str = "running") -> str:
    """HTML for a progress bar with the counts and the time left written on it."""
    pct = 100.0 * done / total if total else 0.0
    color = STATUS_COLORS["running"] if status in ACTIVE_STATUSES else STATUS_COLORS.get(status, "#6c757d")
    text = f"{done} / {total}" + (f" · {eta} left" if eta else "")
    return (f"<div class='wqml-progress' data-done='{done}' data-total='{total}' style='position:relative;"
            f"height:1.35em;background:#e9ecef;border-radius:4px;overflow:hidden;min-width:9em'>"
            f"<div style='width:{pct:.1f}%;height:100%;background:{color};opacity:0.55'></div>"
            f"<span style='position:absolute;left:0.5em;top:0;line-height:1.35em;font-size:0.85em;"
            f"color:#212529'>{html.escape(text)}</span></div>")


def format_eta(seconds: float | None) -> str:
    """``75.2`` -> ``'1 min 15 s'``; None -> ``''``."""
    if seconds is None or seconds != seconds:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def settings_summary(config: dict) -> str:
    """One line describing a run's settings, e.g. '5 series · n 125-4000 · test 2000 · 5-fold · seed 0 · CM'."""
    sizes = sorted(set(config.get("sizes", [])))
    seeds = config.get("seeds", [config.get("seed", 0)])
    rep = {"cm": "CM", "bob": "BoB"}.get(config.get("representation", "cm"), config.get("representation"))
    series = config.get("series", [])
    parts = [series[0] if len(series) == 1 else f"{len(series)} series",
             f"n {sizes[0]}" if len(sizes) == 1 else (f"n {sizes[0]}-{sizes[-1]}" if sizes else "n ?"),
             f"test {config.get('n_test')}", f"{config.get('folds')}-fold",
             f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds", rep]
    target = config.get("target")
    if target and target != "atomization_energy":
        parts.append(target)
    if config.get("data"):
        parts.append(run_data_name(config))
    return " · ".join(str(p) for p in parts)


def same_quantity(run_ids: list[int], first: int, configs: dict[int, dict]) -> list[int]:
    """``run_ids`` less the runs whose target or its unit differ from run ``first``'s (configs: id ->
    config): the curves one axis can show."""
    def key(run_id):
        config = configs.get(run_id) or {}
        return config.get("target", "atomization_energy"), run_unit(config)

    return [r for r in run_ids if key(r) == key(first)]


def run_title(name: str, config: dict) -> str:
    """A run's name, with its data set's when that is not QM9 and the name does not say it already."""
    data = run_data_name(config)
    return name if data == "QM9" or data in str(name) else f"{name} · {data}"


class RunsTable(pn.viewable.Viewer):
    """Every run in the store, refreshed by `refresh` (the tab calls it periodically).

    Parameters
    ----------
    store : the `RunStore`
    executor : the `RunExecutor` (cancel, resume, delete, progress)
    """

    store = param.Parameter(doc="The RunStore")
    executor = param.Parameter(doc="The RunExecutor")
    runs = param.DataFrame(default=None, allow_None=True, doc="The store's list_runs() at the last refresh")
    selected_run = param.Integer(default=None, allow_None=True, doc="Id of the selected row")
    message = param.String(default="")
    details = param.String(default="", doc="Settings and latest news of the selected run (Markdown)")
    message_type = param.Selector(default="info", objects=["danger", "success", "info", "warning"])

    def __init__(self, **params):
        super().__init__(**params)
        self._pending_delete: int | None = None
        self._message_run: int | None = None  # the run a "resumed: computing ..." message is about
        self.table = pn.widgets.Tabulator(
            pd.DataFrame({c: pd.Series(dtype="int64" if c == "id" else object) for c in COLUMNS}),
            titles=_TITLES, show_index=False, disabled=True, selectable=1,
            sizing_mode="stretch_width", layout="fit_data_fill",
            configuration={"maxHeight": "290px", "columnDefaults": {"headerSort": False, "tooltip": True}},
            formatters={"status": {"type": "html"}, "progress": {"type": "html"}},
            widths={"progress": 190, "name": 150}, header_align="left",
            hidden_columns=[c for c in COLUMNS if c not in VISIBLE],
            css_classes=["wqml-runs-table"])
        # Tooltips open below their button: Panel's default (to the right) covered the next button.
        self.buttons = {
            action: pn.widgets.Button(label=label, description=Tooltip(content=tip, position="bottom"),
                                      disabled=True, width=90,
                                      color="danger" if action == "delete" else "default",
                                      variant="outline", css_classes=[f"wqml-run-{action}"])
            for action, (label, tip, _) in ACTIONS.items()}
        for action, button in self.buttons.items():
            button.on_click(self._handler(action))
        self.table.param.watch(self._on_selection, "selection")
        self.param.watch(self._update_details, "selected_run")
        self.param.watch(self._update_buttons, "selected_run")

    # -- data ---------------------------------------------------------------------------
    def frame(self, runs: pd.DataFrame) -> pd.DataFrame:
        """The displayed table, newest run first, indexed by run id."""
        rows = []
        active = set(self.executor.active_runs()) if self.executor is not None else set()
        for run in runs.sort_values("id", ascending=False).itertuples(index=False):
            eta, message = None, ""
            if run.id in active:
                try:
                    prog = self.executor.progress(run.id)
                    eta, message = prog.eta_seconds, prog.message
                except KeyError:
                    pass
                if run.status not in ACTIVE_STATUSES:
                    message = "stopping: the running task ends at its next check"
            elif run.status == "failed":
                message = run.error or ""
            elif run.status in ACTIVE_STATUSES:  # a CLI run or another server on the same store
                message = "in another process" + (f" ({run.owner})" if getattr(run, "owner", None) else "")
                try:
                    eta = self.executor.progress(run.id).eta_seconds  # estimated from its stored points
                except KeyError:
                    pass
            created = run.created.strftime("%m-%d %H:%M") if pd.notna(run.created) else ""
            eta_text = format_eta(eta) if run.status == "running" else ""
            rows.append({"id": int(run.id), "name": run.name, "data": run_data_name(run.config),
                         "status": status_badge(run.status),
                         "progress": progress_bar(int(run.n_done), int(run.n_total), eta_text, run.status),
                         "created": created,
                         "settings": settings_summary(run.config), "message": message})
        frame = pd.DataFrame(rows, columns=COLUMNS)
        frame.index = frame["id"].to_numpy(dtype="int64")
        return frame

    def refresh(self) -> pd.DataFrame:
        """Read the store and update the table in place (patch changed cells, replace on new rows)."""
        runs = self.store.list_runs()
        new = self.frame(runs)
        old = self.table.value
        if list(old.index) == list(new.index) and len(new):
            changed = new.ne(old.reindex(columns=COLUMNS))
            patch = {col: [(idx, new.at[idx, col]) for idx in new.index[changed[col]]] for col in COLUMNS
                     if changed[col].any()}
            if patch:
                self.table.patch(patch)
        elif list(old.index) != list(new.index):
            self.table.value = new
            self._select(self.selected_run)
        self.runs = runs
        self._clear_stale_message(runs)
        self._update_details()
        self._update_buttons()
        return runs

    def _clear_stale_message(self, runs: pd.DataFrame) -> None:
        """Drop "Run N resumed: computing its missing points" once run N is no longer computing."""
        run_id = self._message_run
        if run_id is None:
            return
        status = runs.loc[runs["id"] == run_id, "status"]
        computing = run_id in self.executor.active_runs() or (len(status) and status.iloc[0] in ACTIVE_STATUSES)
        if not computing:
            self._message_run = None
            self._say("")

    # -- selection and buttons ----------------------------------------------------------
    def _select(self, run_id: int | None) -> None:
        ids = list(self.table.value.index)
        self.table.selection = [ids.index(run_id)] if run_id in ids else []

    def _on_selection(self, event):
        ids = list(self.table.value.index)
        rows = [i for i in event.new if i < len(ids)]
        self.selected_run = int(ids[rows[0]]) if rows else None

    def select(self, run_id: int | None) -> None:
        """Select a run's row (None clears the selection)."""
        self._select(run_id)
        self.selected_run = run_id if run_id in list(self.table.value.index) else None

    def _say(self, text: str, kind: str = "info") -> None:
        self.param.update(message=text, message_type=kind)

    def _update_buttons(self, *_):
        status = None
        if self.selected_run is not None and self.runs is not None:
            match = self.runs.loc[self.runs["id"] == self.selected_run, "status"]
            status = match.iloc[0] if len(match) else None
        stopping = self.selected_run in self.executor.active_runs() and status not in ACTIVE_STATUSES
        for action, button in self.buttons.items():
            # a cancelled run resumes once its driver has stopped (the running task ends at its next check)
            button.disabled = status not in ACTIONS[action][2] or (action == "resume" and stopping)

    def _handler(self, action: str):
        async def handler(_event):
            await self.act(action)
        return handler

    async def act(self, action: str) -> None:
        """Cancel, resume or delete the selected run, off the event loop (executor calls may
        talk to Dask or wait for a driver thread)."""
        run_id = self.selected_run
        if run_id is None:
            return
        for button in self.buttons.values():
            button.disabled = True
        try:
            text, kind = await asyncio.get_running_loop().run_in_executor(None, getattr(self, f"_{action}"), run_id)
        except KeyError:
            text, kind = f"Run {run_id} no longer exists.", "warning"
        self._message_run = run_id if action == "resume" and kind == "success" else None
        self._say(text, kind)
        self.refresh()
        self._update_buttons()

    def _cancel(self, run_id: int) -> tuple[str, str]:
        run = self.store.get_run(run_id)
        if run_id in self.executor.active_runs():
            self.executor.cancel(run_id)
            return f"Run {run_id} cancelled; its finished points are kept (Resume computes the rest).", "success"
        if run["status"] in ACTIVE_STATUSES:
            return (f"Run {run_id} is {run['status']} in another process ({run.get('owner') or 'unknown'}); "
                    "cancel it there."), "warning"
        return f"Run {run_id} is {run['status']}: nothing to cancel.", "info"

    def _resume(self, run_id: int) -> tuple[str, str]:
        run = self.store.get_run(run_id)
        if run["status"] == "finished":
            return f"Run {run_id} is finished: nothing to resume.", "info"
        try:
            self.executor.resume(run_id)
        except (ValueError, KeyError) as exc:
            return str(exc).strip("'\""), "warning"
        missing = run["n_total"] - run["n_done"]
        return f"Run {run_id} resumed: computing its {missing} missing points.", "success"

    def _delete(self, run_id: int) -> tuple[str, str]:
        if self._pending_delete != run_id:
            self._pending_delete = run_id
            return f"Press Delete again to delete run {run_id} with its points.", "warning"
        self._pending_delete = None
        run = self.store.get_run(run_id)
        if run["status"] in ACTIVE_STATUSES and run_id not in self.executor.active_runs():
            return f"Run {run_id} is {run['status']} in another process: cancel it there first.", "warning"
        self.executor.delete(run_id)
        return f"Run {run_id} deleted.", "success"

    # -- view ---------------------------------------------------------------------------
    @param.depends("message", "message_type")
    def _message(self):
        if not self.message:
            return pn.Spacer(height=0)
        return pn.pane.Alert(self.message, alert_type=self.message_type, sizing_mode="stretch_width",
                             margin=(5, 10), css_classes=["wqml-runs-message"])

    def _details_text(self) -> str:
        runs = self.runs
        if self.selected_run is None or runs is None or self.selected_run not in set(runs["id"]):
            return ""
        run = runs.set_index("id").loc[self.selected_run]
        cfg = run["config"]
        lines = [f"**Run {self.selected_run}: {html.escape(str(run['name']))}** ({run['status']}): "
                 f"series {', '.join(cfg.get('series', []))}; sizes {', '.join(map(str, cfg.get('sizes', [])))}; "
                 f"test {cfg.get('n_test')}; {cfg.get('folds')} folds; seeds "
                 f"{', '.join(map(str, cfg.get('seeds', [])))}; target {cfg.get('target')}; "
                 f"representation {cfg.get('representation', 'cm')}"]
        if cfg.get("data"):
            data = cfg["data"]
            lines.append(f"Data set {html.escape(run_data_name(cfg))} ({data.get('molecules')} molecules, content "
                         f"`{str(data.get('sha256', ''))[:12]}`), {cfg.get('target')} in "
                         f"{html.escape(run_unit(cfg) or 'unit not given')}")
        latest = self.table.value["message"].get(self.selected_run, "") if len(self.table.value) else ""
        if run["error"]:
            lines.append(f"Error: `{run['error']}`")
        elif latest:
            lines.append(f"Latest: {html.escape(str(latest))}")
        return "  \n".join(lines)

    def _update_details(self, *_):
        self.details = self._details_text()

    @param.depends("details")
    def _details(self):
        text = self.details or "Select a run to see its settings."
        return pn.pane.Markdown(text, margin=(0, 10), css_classes=["wqml-run-details"])

    def __panel__(self):
        actions = pn.Row(pn.pane.Markdown("Selected run:", margin=(8, 5, 0, 10)), *self.buttons.values(),
                         css_classes=["wqml-run-actions"])
        return pn.Column(self._message, self.table, actions, self._details, sizing_mode="stretch_width")
