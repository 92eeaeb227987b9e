"""The "Displacement explorer" tab: the paper's Fig. 2, live.

One atom of a molecule moves along an axis; KRR models trained on a few points of the scan
predict the energy along it. The sorted-CM L1 model jumps where two rows of the sorted Coulomb
matrix swap; the W1 model stays smooth. The slider moves the atom in 3D, the marker along the
curves, the sorted CM and the CM-entry distributions, all updated in place.

Layout: controls on the left; the scan plot with the slider and readouts, the 3D view, the sorted
CM and the CDFs on the right. State lives in `ExplorerState`; this module only arranges views.
"""

from __future__ import annotations

import io
import json

import numpy as np
import panel as pn
import param
from bokeh.models import Div

from ...core.scan.settings import AXES, DEFAULT_MODELS
from ...core.scan.engine import MODEL_LABELS, REFERENCE_HELP, REFERENCES, scan_csv
from ..data.data_source import DataSource
from .cm_views import CDFPlot, CMHeatmap
from .frame_player import (
    FRAME_LIMIT_BYTES,
    SPEEDS,
    FramePlayer,
    PlayerLinks,
    frame_bytes,
    pack_frames,
    shared_frames,
)
from ..layout import lazy_card, number_input
from .molecule_picker import MoleculePicker
from .molecule_view import MoleculeView
from .readouts import readout_html
from .scan_plots import LABELS, MOVING, STYLE, ScanPlot, covering_intervals
from .scan_state import URL_STATE, ExplorerState, atom_label, display_transform
from .links import URL_MOLECULE_KEY, apply_link, apply_molecule_key, link_parts, link_query, query_values
from .texts import COLLISION_TIP, AXIS_LABELS, ELEMENT_NAMES, HELP, READOUT_CSS, REFERENCE_LABELS, SVG_EXPORT_JS

OPTIONAL_MODELS = [m for m in MODEL_LABELS if m not in DEFAULT_MODELS]


class DisplacementExplorer(pn.viewable.Viewer):
    """The displacement explorer tab (a Panel Viewer around an `ExplorerState`)."""

    state = param.ClassSelector(class_=ExplorerState)
    shown = param.Boolean(default=True, doc="Whether the tab is on screen (Play stops when it is hidden)")

    def __init__(self, data_source: DataSource | None = None, **params):
        params.setdefault("state", ExplorerState(data_source=data_source))
        super().__init__(**params)
        st, settings = self.state, self.state.settings
        self.plot = ScanPlot(on_tap=self._on_tap)
        self.heatmap = CMHeatmap()
        self.cdf = CDFPlot()
        self.molecule_view = MoleculeView(height=400, sizing_mode="stretch_width", min_width=240,
                                          name="molecule-view")
        self._scene_key = None
        self._shown_atom = None
        self._shown_engine = None
        self._url_problems: list[str] = []
        self._transform = display_transform(np.zeros(1), np.zeros(1), False)

        self.picker = MoleculePicker(state=st)  # the molecule source

        # --- scan settings: widgets from the core's ScanSettings parameters
        self.atom_select = pn.widgets.Select.from_param(
            settings.param.atom, label="Moving atom", options={f"atom {settings.atom}": settings.atom},
            sizing_mode="stretch_width")
        self.axis_select = pn.widgets.Select.from_param(
            settings.param.axis, label="Axis", options={AXIS_LABELS[a]: a for a in AXES},
            sizing_mode="stretch_width")
        self.partner_select = pn.widgets.Select(label="Bond partner", options={}, sizing_mode="stretch_width",
                                                visible=False)
        self.custom_axis = pn.widgets.LiteralInput.from_param(settings.param.custom_axis, label="Axis vector (x, y, z)",
                                                              visible=False, sizing_mode="stretch_width")
        # Three boxes in the 310-pixel sidebar: 78 pixels each (at 86 the step box spilled out of it).
        self.d_min = self._number_input(pn.widgets.FloatInput, "d_min", "From d (Å)", step=0.1, width=78)
        self.d_max = self._number_input(pn.widgets.FloatInput, "d_max", "to d (Å)", step=0.1, width=78)
        self.step = self._number_input(pn.widgets.FloatInput, "step", "Step (Å)", step=0.005, width=78)
        self.reference_select = pn.widgets.Select.from_param(
            settings.param.reference, label="Reference energy",
            options={REFERENCE_LABELS.get(r, r): r for r in REFERENCES}, sizing_mode="stretch_width")
        self.reference_help = pn.pane.Markdown("", css_classes=["wqml-note"], margin=(0, 10))

        # --- models
        self.n_train = self._number_input(pn.widgets.IntInput, "n_train", "Training points", width=120)
        self.seed = self._number_input(pn.widgets.IntInput, "seed", "Seed", width=90)
        self.new_set = pn.widgets.Button(label="New training set", color="primary", align="end")
        self.extra_models = pn.widgets.CheckBoxGroup(
            label="Also show", options={MODEL_LABELS[m]: m for m in OPTIONAL_MODELS},
            value=[m for m in settings.models if m in OPTIONAL_MODELS], inline=False)
        self.normalize = pn.widgets.Checkbox.from_param(settings.param.normalize,
                                                        label="Normalised E and d (as in the paper)")
        self.sigma = self._number_input(pn.widgets.FloatInput, "sigma", "σ (empty: automatic)", width=120)
        self.lam = self._number_input(pn.widgets.FloatInput, "lam", "λ (empty: automatic)", width=120)
        self.n_large = self._number_input(pn.widgets.IntInput, "n_train_large", "Large training set", width=120)
        self.min_distance = self._number_input(pn.widgets.FloatInput, "min_distance", "Collision distance (Å)",
                                               step=0.05, width=120, placeholder="covalent", description=COLLISION_TIP)
        self.hyper_text = pn.pane.Markdown("", css_classes=["wqml-note"], margin=(0, 10))

        # --- displacement, readouts, downloads, messages
        self.slider = pn.widgets.FloatSlider(label="Displacement d (Å)", start=-1, end=1, step=0.01, value=st.d,
                                             sizing_mode="stretch_width", format="0.00", bar_color=MOVING,
                                             margin=(5, 20), tooltips=False, min_width=140)
        # (no tooltip: the title shows d, and a tooltip above the handle covered the plot's x-axis label)
        # A Bokeh Div: a new text is one property change (an HTML pane rebuilds its stylesheets each time).
        self._readout_div = Div(text="", sizing_mode="stretch_width", stylesheets=[READOUT_CSS],
                                css_classes=["wqml-readouts"])
        self.readouts = pn.pane.Bokeh(self._readout_div, sizing_mode="stretch_width")
        # Sweeps d back and forth over the grid: a classroom demo without touching the slider.
        self.play = pn.widgets.Toggle(label="▶ Play", width=90, align="end", margin=(5, 10))
        self.speed = pn.widgets.Select(options=list(SPEEDS), value=next(iter(SPEEDS)), width=105, align="end",
                                       margin=(5, 10, 5, 0), css_classes=["wqml-speed"])
        self._play_callback = None
        self._play_step = 1
        self._from_slider = False  # while the slider itself sets d (`_on_slider`): nothing to echo
        # The slider, Play and the link run in the page from frames sent once per scan (frame_player).
        self.player = FramePlayer()
        self._frames_version = pn.widgets.IntInput(value=0, visible=False, width=0, margin=0)  # (no room taken)
        self._player_note = ""
        self.csv_download = pn.widgets.FileDownload(callback=self._csv, filename="scan.csv", label="Scan as CSV",
                                                    color="success", variant="outline")
        self.json_download = pn.widgets.FileDownload(callback=self._json, filename="scan.json",
                                                     label="Scan as JSON", color="success",
                                                     variant="outline")
        # The plot as SVG, drawn in the browser by Bokeh's own SVG context (no server-side export, no
        # browser driver, nothing fetched): the same export the toolbar's save button does as PNG.
        self.svg_download = pn.widgets.Button(label="Plot as SVG", color="success", variant="outline")
        self.svg_download.js_on_click(args={"fig": self.plot.figure}, code=SVG_EXPORT_JS)
        self.presentation = pn.widgets.Checkbox.from_param(st.param.presentation,
                                                           label="Presentation mode (large fonts, thick lines)",
                                                           css_classes=["wqml-presentation"])
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False, sizing_mode="stretch_width")
        self.notice = pn.pane.Alert("", alert_type="warning", visible=False, sizing_mode="stretch_width")

        # --- wiring
        self.partner_select.param.watch(self._on_partner, "value")
        self.new_set.on_click(lambda e: st.new_training_set())
        self.extra_models.param.watch(self._on_extra_models, "value")
        self.slider.param.watch(self._on_slider, ["value", "value_throttled"])
        self.play.param.watch(self._on_play, "value")
        # Play stops when the tab is hidden: nobody watches an animation there.
        self.param.watch(lambda e: e.new or self.play.param.update(value=False), "shown")
        self.molecule_view.param.watch(self._on_pick, "highlight")
        st.param.watch(self._on_result, "result")
        st.param.watch(self._on_d, "d")
        st.param.watch(self._on_messages, ["error", "notice", "busy"])
        st.param.watch(self._on_presentation, "presentation")
        settings.param.watch(self._on_axis, ["axis", "atom"])
        settings.param.watch(self._on_normalize, "normalize")
        settings.param.watch(self._on_reference, "reference")
        settings.param.watch(lambda e: self.extra_models.param.update(
            value=[m for m in e.new if m in OPTIONAL_MODELS]), "models")
        self._on_reference()
        if st.presentation:
            self._on_presentation()
        self._on_axis()
        self._layout = self._build_layout()
        self._player_links = PlayerLinks(self.player, self.slider, self.play, self.speed, self._frames_version,
                                         self.plot, self.heatmap, self.cdf, self._readout_div, self.molecule_view)

    def _number_input(self, cls, name: str, label: str, **kwargs):
        """A number box for the setting ``name`` whose refusals go to the alert (`layout.number_input`)."""
        def refused(message):
            self.state.error = message

        return number_input(cls, self.state.settings, name, label, refused, **kwargs)

    # ------------------------------------------------------------------ lifecycle
    def start(self, location=None) -> None:
        """Apply a shared link (``location``: ``pn.state.location``), compute; the page keeps the link.

        The page writes the address itself (`link`, in one encoding: JSON for everything that is not
        text), so a slider move or Play never waits for the server to update it.
        """
        self._player_links.attach()  # the page is rendered now: the first frames will find the player there
        keys: set[str] = set()
        if location is not None:
            raw = query_values(location)
            keys = set(raw) & set(URL_STATE)
            self._url_problems += apply_link(self.state, raw, keys - {URL_MOLECULE_KEY})
            self._url_problems += apply_molecule_key(self.state, raw, keys)
        try:
            self.state.start(url_keys=keys)
        finally:
            self._layout.loading = False
        self.picker.source_picker.value = self.state.source
        if self._url_problems:
            names = ", ".join(sorted(set(self._url_problems)))
            message = f"The link's value for {names} is not valid; the default is used instead."
            first = self.state.error.rstrip(".")
            self.state.error = f"{first}. {message}" if first else message  # keep both

    @staticmethod
    def starts_with_page(location=None) -> bool:
        """Whether `start_in_page` suits a link (``location``: ``pn.state.location``): a teaching example
        (the default, or ``source=example``), whose scans every session shares (`SharedScans`), so the
        first scan can be drawn into the page the server sends instead of after the page reports ready."""
        return query_values(location).get("source", "example") == "example"

    def start_in_page(self, location=None) -> None:
        """`start`, while the page is being built: its first scan, frames and views travel with the page.

        Call `attach_player` once the page's models exist (the page then plays and writes the link
        from its first frame, with no round trip to the server).
        """
        self.start(location)
        if self.player.client:  # the views at the first d, drawn here once (the page draws the rest)
            self._show_frame()

    def attach_player(self, doc=None) -> None:
        """Give the page's rendered widgets the player (see `PlayerLinks.attach`); idempotent."""
        self._player_links.attach(doc)

    # ------------------------------------------------------------------ molecule source
    def link(self, d: float | None = None) -> str:
        """The address bar's query for the current state (``d``: the state's), as the page writes it."""
        return link_query(self.state, d)

    # ------------------------------------------------------------------ settings
    def _on_extra_models(self, event) -> None:
        models = list(DEFAULT_MODELS) + [m for m in OPTIONAL_MODELS if m in event.new]
        if models != list(self.state.settings.models):
            self.state.settings.models = models

    def _on_axis(self, *events) -> None:
        settings = self.state.settings
        self.partner_select.visible = settings.axis == "bond"
        self.custom_axis.visible = settings.axis == "custom"
        self._partner_options()

    def _partner_options(self) -> None:
        mol, settings = self.state.molecule, self.state.settings
        if mol is None:
            return
        symbols = mol.symbols
        bonded = set(mol.bonded_partners(settings.atom))
        options = {f"{atom_label(symbols, j)}{' (bonded)' if j in bonded else ''}": j
                   for j in sorted(range(len(mol)), key=lambda j: (j not in bonded, j)) if j != settings.atom}
        value = settings.partner if settings.partner in options.values() else next(iter(options.values()), None)
        self.partner_select.param.update(options=options, value=value)
        if settings.axis == "bond" and value != settings.partner:
            settings.partner = value

    def _on_partner(self, event) -> None:
        if self.state.settings.axis == "bond":  # the partner means nothing for the other axes
            self.state.settings.partner = event.new

    def _on_reference(self, *events) -> None:
        ref = self.state.settings.reference
        label = REFERENCE_LABELS.get(ref, ref)
        self.reference_help.object = f"**Reference energy: {label}.** {REFERENCE_HELP.get(ref, '')}"

    def _on_presentation(self, *events) -> None:
        on = self.state.presentation
        with pn.io.hold():
            self.plot.set_presentation(on)
            self.heatmap.presentation = self.cdf.presentation = on
            self._readout_div.css_classes = ["wqml-readouts", "wqml-big"] if on else ["wqml-readouts"]
            if self.player.meta.data.get("json"):  # the page writes the link: give it the new key
                self.player.set_link({"query": link_parts(self.state)})
                self._frames_version.value += 1  # the page's player reads its scan facts again

    def _on_normalize(self, event) -> None:
        self._on_result()

    def _on_pick(self, event) -> None:
        if event.new is not None and event.new != self.state.settings.atom:
            self.state.settings.atom = int(event.new)

    def _on_tap(self, x: float) -> None:
        self.state.toggle_training_point(float(self._transform[2](x)))

    def _on_slider(self, *events) -> None:
        # A busy server gets a burst of presses as one batch in which "value_throttled" may still be a
        # press behind "value" (the next message brings it); after Play, "value" is the stale one (the
        # page plays without telling the server each step, then sends where it paused as
        # "value_throttled"). The batch's last change is the one to follow; the page's handle is never
        # moved from here (`_on_d`).
        self._from_slider = True
        try:
            self.state.d = round(float(events[-1].new), 9)  # the steps carry float noise: 0.010000000000000897
        finally:
            self._from_slider = False

    def _on_play(self, event) -> None:
        self.play.label = "❚❚ Pause" if event.new else "▶ Play"
        if self.player.client:  # the page plays (frame_player)
            return
        if event.new and self._play_callback is None:
            self._play_callback = pn.state.add_periodic_callback(self.tick, period=60)
        elif not event.new and self._play_callback is not None:
            self._play_callback.stop()
            self._play_callback = None

    def tick(self) -> None:
        """One step of "Play": the next grid point, turning round at either end."""
        result = self.state.result
        if result is None or result.d.size < 2:
            return
        i = self.state.grid_index(self.state.d, result.d) + self._play_step
        if not 0 <= i < result.d.size:
            self._play_step = -self._play_step
            i += 2 * self._play_step
        self.state.d = float(result.d[i])

    # ------------------------------------------------------------------ showing the state
    def _on_messages(self, *events) -> None:
        st = self.state
        self.alert.param.update(object=st.error, visible=bool(st.error))
        notice = f"⏳ {st.busy}" if st.busy else " ".join(t for t in (st.notice, self._player_note) if t)
        self.notice.param.update(object=notice, visible=bool(notice))
        self._views_box.loading = bool(st.busy)  # a spinner over the plot and the 3D view while work runs

    def _on_result(self, *events) -> None:
        st = self.state
        result, mol, settings = st.result, st.molecule, st.settings
        if result is None or mol is None:
            if st.error:  # the views still show the last scan: say so where people look
                self.plot.figure.title.text = "Not updated: these settings make no scan (see the message above)"
            return
        with pn.io.hold():
            symbols = mol.symbols
            new_molecule = id(mol) != self._scene_key
            if new_molecule:
                self.picker.show(mol)  # the source shown is the molecule's: from a link or another tab
                # options and value together: a value missing from the options would be replaced
                self.atom_select.param.update(
                    options={f"{atom_label(symbols, i)} ({ELEMENT_NAMES.get(s, s)})": i for i, s in enumerate(symbols)},
                    value=settings.atom)
            if new_molecule or result.atom != self._shown_atom:
                self._partner_options()
            to_x, to_e, _ = self._transform = display_transform(result.d, result.reference, settings.normalize)
            x = to_x(result.d)
            series = {"reference": to_e(result.reference), **{k: to_e(v) for k, v in result.models.items()}}
            invalid = covering_intervals(x, ~result.valid)
            self.plot.set_result(
                x, series, result.train_index, result.train_index_large, to_x(result.swap_points), invalid,
                n_train=len(result.train_index), n_train_large=settings.n_train_large,
                x_label="d / max |d|" if settings.normalize else "Displacement d (Å)",
                y_label="Normalised energy" if settings.normalize else "Energy (kcal/mol)",
                ties=to_x(result.tie_points))
            # The counts of swap points and ties are in the legend: a short title fits a projector.
            self.plot.figure.title.text = f"{mol.formula}: atom {atom_label(symbols, result.atom)} moves"
            geoms = st.engine.geometries
            start, end = geoms[0][result.atom], geoms[-1][result.atom]
            if st.engine is not self._shown_engine:  # new geometries: new atom, axis, range or molecule
                self.molecule_view.show(symbols, geoms[st.grid_index(st.d, result.d)], mol.bonds,
                                        highlight=result.atom, axis_start=start, axis_end=end,
                                        new_scene=new_molecule)
                self.molecule_view.frame_coords = np.round(mol.coords, 4).tolist()
                if st.zero_entries is not None:
                    diag = np.diag(st.engine.cm_at(0.0)[0])
                    self.heatmap.set_scale(low=0.1, high=max(float(diag.max()) * 1.3, 1.0))
                self.heatmap.set_size(len(mol))  # ranges and thinned labels; the page changes the labels
            self._scene_key, self._shown_atom, self._shown_engine = id(mol), result.atom, st.engine
            step = float(result.d[1] - result.d[0]) if result.d.size > 1 else 0.01
            self.slider.param.update(start=float(result.d[0]), end=float(result.d[-1]), step=step,
                                     value=float(st.d))
            hyper = ", ".join(f"{MODEL_LABELS.get(k, k)}: σ = {s:.3g}, λ = {lam:.1e}"
                              for k, (s, lam) in result.hyperparameters.items())
            self.hyper_text.object = f"Used: {hyper}" if hyper else ""
            self._player_links.attach()  # (a view rendered again, e.g. in a notebook, gets it too)
            self._send_frames()
            if not self.player.client:
                self._show_frame()
            self._frames_version.value += 1  # last: the page draws once everything above has arrived

    def _send_frames(self) -> None:
        """Pack every grid point's views for the page, or fall back to the server path (and say so)."""
        st = self.state
        result, mol = st.result, st.molecule
        size = frame_bytes(len(mol), result.d.size, len(result.models) + 1)
        frames = (shared_frames(result, st.settings.normalize, lambda: pack_frames(st, *self._transform[:2]))
                  if size <= FRAME_LIMIT_BYTES else None)
        note = "" if frames is not None else (
            f"This scan is too large to play in the browser ({size / 1e6:.1f} MB of frames, limit "
            f"{FRAME_LIMIT_BYTES / 1e6:.0f} MB): the slider and Play go through the server and answer more slowly.")
        chosen = "chosen by clicking" if st.train else f"drawn with seed {st.settings.seed}"
        zero = st.zero_entries
        meta = {"g": int(result.d.size), "n": len(mol), "symbols": list(mol.symbols), "atom": int(result.atom),
                "models": list(result.models), "color": {k: STYLE[k]["color"] for k in ("reference", *result.models)},
                "label": {k: LABELS.get(k, k) for k in ("reference", *result.models)},
                "jump": {k: (float(v) if v is not None and np.isfinite(v) else None)
                         for k, v in result.jump_ratio.items()},
                "train_text": f"{len(result.train_index)} training points, {chosen}",
                "zero": None if zero is None else [float(v) for v in zero], "query": link_parts(self.state)}
        self.player.set_frames(frames, meta)
        if note != self._player_note:
            self._player_note = note
            self._on_messages()

    def _on_d(self, event) -> None:
        # Only a change of d made elsewhere (Play, a click, a link) moves the slider: echoing the
        # slider's own value back would reach the browser after the user's next key presses and pull
        # the handle back (20 sessions at once: a page at d = 0.21 sent back to 0.07).
        if not self._from_slider and not abs(self.slider.value - event.new) <= 1e-6:  # (NaN: refused later)
            self.slider.value = event.new
        if not self.player.client:  # else the page draws it (frame_player)
            self._show_frame()

    def _show_frame(self) -> None:
        st = self.state
        frame, result = st.frame(), st.result
        if frame is None:
            return
        to_x, to_e, _ = self._transform
        with pn.io.hold():
            values = {"reference": frame.reference, **frame.predictions}
            self.plot.set_d(float(to_x(frame.d)), {k: float(to_e(v)) for k, v in values.items()})
            self.molecule_view.move(frame.coords, invalid=not frame.valid)
            symbols = st.molecule.symbols
            shown = frame
            if not frame.valid:  # atoms collide: explain with the nearest geometry of the scan
                valid = np.flatnonzero(result.valid)
                shown = st.frame(float(result.d[valid[np.argmin(np.abs(result.d[valid] - frame.d))]]))
            labels = [atom_label(symbols, j) for j in shown.order]
            moving = int(np.flatnonzero(shown.order == result.atom)[0])
            where = "" if frame.valid else " (nearest valid)"
            title = f"Sorted CM at d = {shown.d:+.2f} Å" if frame.valid else f"Sorted CM at {shown.d:+.2f} Å{where}"
            self.heatmap.set_matrix(shown.cm, labels, moving, title)
            if st.zero_entries is not None:
                self.cdf.set_entries(shown.entries, st.zero_entries, f"W1 = {shown.w1:.4f} (shaded area)"
                                     if frame.valid else f"W1 = {shown.w1:.4f} (d = {shown.d:+.2f} Å)")
            self._readout_div.text = readout_html(frame, self.state.result, self._training_note())

    def _training_note(self) -> str:
        return "chosen by clicking" if self.state.train else f"drawn with seed {self.state.settings.seed}"

    # ------------------------------------------------------------------ downloads
    def _name(self) -> str:
        mol = self.state.molecule
        base = "".join(c if c.isalnum() else "_" for c in (mol.name if mol else "scan")).strip("_") or "scan"
        return f"{base}_atom{self.state.settings.atom}"

    def _csv(self):
        st = self.state
        self.csv_download.filename = f"{self._name()}.csv"
        return io.StringIO(scan_csv(st.result, st.molecule, st.settings) if st.result is not None else "")

    def _json(self):
        result = self.state.result
        self.json_download.filename = f"{self._name()}.json"
        return io.StringIO(json.dumps(result.to_json() if result is not None else {}, indent=1))

    # ------------------------------------------------------------------ layout
    def _build_layout(self):
        molecule_card = self.picker
        scan_card = pn.Card(self.atom_select, self.axis_select, self.partner_select, self.custom_axis,
                            pn.Row(self.d_min, self.d_max, self.step), self.reference_select,
                            title="Scan", sizing_mode="stretch_width", collapsible=False, css_classes=["wqml-card"])
        advanced = lazy_card(lambda: [pn.Row(self.sigma, self.lam), pn.Row(self.n_large, self.min_distance),
                                       self.hyper_text],
                              title="Advanced", sizing_mode="stretch_width", css_classes=["wqml-card"])
        models_card = pn.Card(pn.Row(self.n_train, self.seed), self.new_set, self.extra_models, self.normalize,
                              advanced, title="Models", sizing_mode="stretch_width", collapsible=False,
                              css_classes=["wqml-card"])
        downloads = pn.Column(
            pn.Row(self.csv_download, self.json_download, sizing_mode="stretch_width"),
            self.svg_download,
            pn.pane.Markdown("The CSV states the setup in its header (# lines) and the units in its column "
                             "names. Plot as PNG: the save button (↓) in the plot's toolbar. The address bar "
                             "holds the whole setup: copy it to share this view.", css_classes=["wqml-note"]),
            sizing_mode="stretch_width")
        controls = pn.Column(self.presentation, molecule_card, scan_card, models_card, downloads, width=310,
                             css_classes=["wqml-controls"])
        # Bokeh panes sit in Columns: FlexBox sizes the Columns (a pane's own flex style is ignored).
        # The slider stays under the plot when the 3D view wraps below on a narrow screen. The bases
        # (380 + 250 pixels and the gap) fit the 684 pixels beside the sidebar on a 1024-pixel projector,
        # so the curve and the moving atom are seen together there.
        plot_pane = pn.Column(pn.pane.Bokeh(self.plot.figure, sizing_mode="stretch_width"),
                              # the slider gets the plot's whole width (a projector leaves it ~400 px)
                              self.slider,
                              pn.Row(self.play, self.speed, self._frames_version),
                              sizing_mode="stretch_width", min_width=360, styles={"flex": "3 1 380px"})
        view_box = pn.Column(self.molecule_view, sizing_mode="stretch_width", styles={"flex": "2 1 250px"},
                             min_width=240)
        top = self._views_box = pn.FlexBox(plot_pane, view_box, flex_wrap="wrap", sizing_mode="stretch_width",
                                           gap="10px")
        explain = pn.FlexBox(
            pn.Column(self.readouts, sizing_mode="stretch_width", styles={"flex": "1 1 360px"}),
            pn.Column(self.heatmap, sizing_mode="stretch_width", min_width=280, styles={"flex": "1 1 300px"}),
            pn.Column(self.cdf, sizing_mode="stretch_width", min_width=280, styles={"flex": "1 1 300px"}),
            flex_wrap="wrap", sizing_mode="stretch_width", gap="10px")
        help_card = pn.Card(pn.pane.Markdown(HELP, css_classes=["wqml-help"]), self.reference_help,
                            title="What am I looking at?", collapsed=False, sizing_mode="stretch_width",
                            css_classes=["wqml-card"])
        main = pn.Column(self.alert, self.notice, top, explain, help_card,
                         sizing_mode="stretch_width", min_width=480)
        # Shown as loading until the first scan is drawn (the page appears before the work starts).
        return pn.Row(controls, main, sizing_mode="stretch_width", css_classes=["wqml-explorer"], loading=True)

    def __panel__(self):
        return self._layout
