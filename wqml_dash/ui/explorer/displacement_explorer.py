"""The "Displacement explorer" tab: the paper's Fig. 2, live.

One atom of a molecule moves along an axis; KRR models trained on a few points of the scan
predict the energy along it. The sorted-CM L1 model jumps where two rows of the sorted Coulomb
matrix swap; the W1 model stays smooth. The slider moves the atom in 3D, the marker along the
curves, the sorted CM and the CM-entry distributions, all updated in place.

Layout: controls on the left; the scan plot with the slider and readouts, the 3D view, the sorted
CM and the CDFs on the right. State lives in `ExplorerState`; this module only arranges views.
"""

from __future__ import annotations

import ast
import io
import json
import re
from functools import partial
from urllib.parse import parse_qsl, urlencode

import numpy as np
import panel as pn
import param
from bokeh.models import Div

from ...core.scan.settings import AXES, DEFAULT_MODELS
from ...core.scan.engine import MODEL_LABELS, REFERENCE_HELP, REFERENCES, scan_csv
from ...core.scan.molecule import MAX_FILE_BYTES, search_qm9
from ...core.scan.examples import TEACHING_EXAMPLES
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
from .molecule_view import MoleculeView
from .scan_plots import LABELS, MOVING, STYLE, ScanPlot
from .scan_state import URL_STATE, ExplorerState, atom_label, display_transform
from .upload_box import UploadBox

SOURCE_LABELS = {"Example": "example", "QM9": "qm9", "SMILES": "smiles", "File": "file"}
AXIS_LABELS = {"normal": "Normal to the molecular plane", "x": "x axis", "y": "y axis", "z": "z axis",
               "bond": "Along a bond (choose the partner)", "custom": "Custom vector"}
REFERENCE_LABELS = {"lj": "Lennard-Jones model (default)", "lj_uff": "Lennard-Jones, UFF parameters",
                    "uff": "UFF force field (RDKit)", "mmff94": "MMFF94 force field (RDKit)"}
OPTIONAL_MODELS = [m for m in MODEL_LABELS if m not in DEFAULT_MODELS]
#: The query parameter that names the molecule (example key, QM9 index, SMILES or file name).
URL_MOLECULE_KEY = next(url for url, target in URL_STATE.items() if target == ("state", "key"))

HELP = """
One atom (orange ring in the 3D view) moves along the orange arrow by a displacement **d**.
The **black curve** is a reference energy at every d. Two machine-learning models (kernel ridge
regression on **Coulomb matrices**, CM) learn that curve from a few **training points** (open circles):

* **L1 · sorted CM** (orange-red) compares CMs whose rows were sorted by size. Where two rows
  change places (**swap points**, dashed lines) the sorted CM changes abruptly, and so does the
  prediction: the curve **jumps**.
* **W1** (blue, the Wasserstein metric) compares the *distribution* of all CM entries, which does not
  depend on the order of the atoms: no swap can make it jump, and the curve stays **smooth**.

* **Tie points** (purple dotted lines): at a symmetric geometry (often d = 0) two rows have *equal*
  norms. The sort then keeps them in input order, which can differ from the order on both sides:
  the sorted CM differs at that one point only, and a sorted-CM model shows a **one-point spike**
  there (not a swap: the order on both sides is the same, or, where two norms cross exactly at the
  tie, a swap at the same place). The notice above the plot names the atoms.

Move the slider (or use the arrow keys on it) and watch the **sorted CM**: at a swap point two atom
labels trade places. The **CDF** view shows why W1 is smooth: the shaded area between the
distributions at d and at d = 0 *is* W1, and it grows gradually.

**Jump ratio**: the largest step between neighbouring points of a curve divided by the reference's
largest step; about 1 is smooth, much more is a jump. Click the plot to add or remove a training point.

**Presentation mode** (top of the sidebar, or `presentation=true` in the link): larger fonts and
thicker lines for a projector.
"""


#: Styles inside the readouts' shadow DOM. A string, not a stylesheet model: a Bokeh model belongs to
#: one document, and every browser session has its own.
READOUT_CSS = """
table { border-collapse: collapse; font-size: 15px; margin: 2px 0 6px 0; }
th, td { padding: 3px 10px 3px 4px; text-align: right; border-bottom: 1px solid #e3e7ed; white-space: nowrap; }
th, td:first-child { font-size: 13px; white-space: normal; }
td:first-child { font-size: 14px; }
th:first-child, td:first-child { text-align: left; }
th { font-weight: 600; color: #394452; }
.sw { display: inline-block; width: 16px; height: 4px; margin: 0 8px 3px 0; border-radius: 2px; }
.wqml-d { font-size: 16px; margin-bottom: 4px; }
.bad { color: #c0392b; }
:host(.wqml-big) table { font-size: 22px; }
:host(.wqml-big) th, :host(.wqml-big) td:first-child { font-size: 19px; }
:host(.wqml-big) .wqml-d { font-size: 22px; }
:host(.wqml-big) .sw { width: 24px; height: 7px; }
"""


#: Saves the energy plot as SVG: Bokeh's PlotView.export("svg") paints it into an SVG context.
#: The view on the page is the connected one (a tab shown again builds a new view of the same figure).
SVG_EXPORT_JS = """
const views = [...Bokeh.index.find(fig)].filter((v) => v.el.isConnected)
if (views.length == 0) return
const name = (fig.title.text || "scan").replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "") || "scan"
views[views.length - 1].export("svg").to_blob().then((blob) => {
  const link = document.createElement("a")
  link.href = URL.createObjectURL(blob)
  link.download = name + ".svg"
  document.body.appendChild(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(link.href), 10000)
})
"""


def _fmt(value: float, digits: int = 2, signed: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"


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

        # --- molecule source
        self.source_picker = pn.widgets.RadioButtonGroup(options=SOURCE_LABELS, value=st.source,
                                                         color="primary", variant="outline",
                                                         sizing_mode="stretch_width")
        example_options = {ex.title: key for key, ex in TEACHING_EXAMPLES.items()}
        self.example_select = pn.widgets.Select(label="Teaching example", options=example_options,
                                                value=st.key if st.key in TEACHING_EXAMPLES else None,
                                                sizing_mode="stretch_width")
        self.example_text = pn.pane.Markdown("", css_classes=["wqml-note"], margin=(0, 10))
        self.smiles_input = pn.widgets.TextInput(label="SMILES", placeholder="e.g. C=CC=O (acrolein)",
                                                 sizing_mode="stretch_width")
        self.smiles_button = pn.widgets.Button(label="Build 3D molecule", color="primary")
        self.qm9_query = pn.widgets.TextInput(label="Search QM9 by SMILES or formula",
                                              placeholder="e.g. C3H4O or C=CC=O", sizing_mode="stretch_width")
        self.qm9_results = pn.widgets.Select(label="Matches", options={}, sizing_mode="stretch_width", size=5)
        self.qm9_index = pn.widgets.IntInput(label="QM9 index", value=1, width=120)  # no browser bounds: see
        # _number_input; the server names the valid indices
        self.qm9_button = pn.widgets.Button(label="Load", color="primary", align="end")
        self.file_input = UploadBox(accept=".xyz,.sdf,.mol,.pdb", max_bytes=MAX_FILE_BYTES,
                                    label="Upload an XYZ, SDF/MOL or PDB file", sizing_mode="stretch_width",
                                    height=40)
        self.molecule_info = pn.pane.Markdown("", margin=(0, 10), css_classes=["wqml-molinfo"])

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
                                               step=0.05, width=120)
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
        self.source_picker.param.watch(self._on_source, "value")
        self.example_select.param.watch(self._pick_example, "value")
        # The text box commits on Enter or when it loses focus (clicking the button does both).
        self.smiles_button.on_click(self._on_smiles_button)
        self.smiles_input.param.watch(self._on_smiles_input, "value")
        self.qm9_query.param.watch(self._on_qm9_query, "value")
        self.qm9_results.param.watch(lambda e: e.new is not None and self._load_qm9(e.new), "value")
        self.qm9_button.on_click(lambda e: self._load_qm9(self.qm9_index.value))
        self.file_input.param.watch(self._on_file, "received")
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
        """A number box for the setting ``name``, bounded as the parameter is.

        Like ``cls.from_param``, but a value the parameter refuses (out of bounds, empty where a
        number is needed) is answered in the alert, naming the bound, and the box returns to the
        value the scan keeps, instead of an exception in the server's log. The bounds are not given
        to the browser: its number box would silently keep an out-of-bounds value to itself (the box
        showed -0.1 while the scan went on with a step of 0.01).
        """
        settings = self.state.settings
        widget = cls(label=label, value=getattr(settings, name), **kwargs)

        def push(event):
            try:
                settings.param.update({name: event.new})
            except ValueError as exc:
                reason = re.sub(r"^\w+ parameter '[^']*' ", "", str(exc).splitlines()[0])
                kept = getattr(settings, name)
                self.state.error = (f"{label.split(' (')[0]}: {reason} The scan keeps "
                                    f"{'automatic' if kept is None else kept} (shown in the box).")
                widget.value = kept

        widget.param.watch(push, "value")
        settings.param.watch(lambda event: widget.param.update(value=event.new), name)
        return widget

    # ------------------------------------------------------------------ lifecycle
    def start(self, location=None) -> None:
        """Apply a shared link (``location``: ``pn.state.location``), compute; the page keeps the link.

        The page writes the address itself (`link`, in one encoding: JSON for everything that is not
        text), so a slider move or Play never waits for the server to update it.
        """
        self._player_links.attach()  # the page is rendered now: the first frames will find the player there
        keys: set[str] = set()
        if location is not None:
            raw = dict(parse_qsl(str(location.search or "").lstrip("?")))
            keys = set(raw) & set(URL_STATE)
            self._apply_link(raw, keys - {URL_MOLECULE_KEY})
            self._apply_raw_molecule_key(raw, keys)
        try:
            self.state.start(url_keys=keys)
        finally:
            self._layout.loading = False
        self.source_picker.value = self.state.source
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
        raw = dict(parse_qsl(str(getattr(location, "search", "") or "").lstrip("?")))
        return raw.get("source", "example") == "example"

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

    def _apply_raw_molecule_key(self, raw: dict[str, str], keys: set[str]) -> None:
        """The link's molecule key as the text it is, not as Panel's parser reads it.

        Panel reads query values that look like JSON or numbers: a SMILES such as ``[Na+].[Cl-]``
        would be dropped and a QM9 index would arrive as a number. A link that names a source but
        no molecule falls back to the default example.
        """
        key = raw.get(URL_MOLECULE_KEY, "").strip()
        if key:
            self.state.key = key
            keys.add(URL_MOLECULE_KEY)
        elif self.state.source != "example" and "source" in keys:
            self.state.source = "example"
            self._url_problems.append(URL_MOLECULE_KEY)

    def _targets(self) -> dict:
        return {"state": self.state, "settings": self.state.settings}

    def _apply_link(self, raw: dict[str, str], keys: set[str]) -> None:
        """Apply the link's values one by one; a value a setting refuses is named (`_url_problems`)."""
        targets = self._targets()
        for url_name in URL_STATE:
            if url_name not in keys:
                continue
            obj, pname = URL_STATE[url_name]
            target = targets[obj]
            try:
                target.param.update({pname: _decode(target.param[pname], raw[url_name])})
            except Exception:  # any refusal of a value a user typed: named, never a traceback
                self._url_problems.append(url_name)

    def link(self, d: float | None = None) -> str:
        """The address bar's query for the current state (``d``: the state's), as the page writes it."""
        before, after = self._link_parts()
        value = round(float(self.state.d if d is None else d), 9)
        return "?" + "&".join([*before, urlencode({"d": _encode(value)}), *after])

    def _link_parts(self) -> tuple[list[str], list[str]]:
        """The link's ``key=value`` parts before and after ``d`` (None values are left out)."""
        targets, parts, before = self._targets(), ([], []), True
        for url_name, (obj, pname) in URL_STATE.items():
            if url_name == "d":
                before = False
                continue
            value = getattr(targets[obj], pname)
            if value is not None:
                parts[0 if before else 1].append(urlencode({url_name: _encode(value)}))
        return parts

    # ------------------------------------------------------------------ molecule source
    def _on_source(self, event) -> None:
        self._source_panel.objects = [self._source_widgets[event.new]]

    def _pick_example(self, event) -> None:
        if event.new and (self.state.source, self.state.key) != ("example", event.new):  # not our own echo
            self.state.choose("example", event.new)

    def _on_smiles_button(self, event) -> None:
        self._build_smiles(self.smiles_input.value)

    def _on_smiles_input(self, event) -> None:
        self._build_smiles(event.new)

    def _build_smiles(self, smiles: str) -> None:
        smiles = (smiles or "").strip()
        if smiles and (self.state.source, self.state.key) != ("smiles", smiles):
            self._choose_slow("smiles", smiles)

    def _choose_slow(self, source: str, key: str, data: bytes | None = None) -> None:
        """Choose a molecule whose construction may take seconds (a SMILES, an upload).

        Served, it is built in a worker thread while the server goes on with every other session;
        elsewhere (a notebook, a test) it is built at once.
        """
        doc = pn.state.curdoc
        if doc is not None and doc.session_context is not None and doc.session_context.server_context is not None:
            pn.state.execute(partial(self.state.choose_in_background, source, key, data))
        else:
            self.state.choose(source, key, data)

    def _on_qm9_query(self, event) -> None:
        dataset = self.state.data_source.dataset if self.state.data_source else None
        query = (event.new or "").strip()
        if not query:
            self.qm9_results.options = {}
            return
        if dataset is None:
            self.state.error = "QM9 is still loading; search again in a moment."
            return
        try:
            frame = search_qm9(dataset, query, limit=50)
        except ValueError as exc:
            self.state.error = f"QM9 search: {exc}"
            return
        if frame.empty:
            self.state.error = f"No QM9 molecule matches {query!r}."
        self.qm9_results.options = {f"#{int(r.qm9_index)}  {r.formula}  {r.smiles}": int(r.qm9_index)
                                    for r in frame.itertuples()}

    def _load_qm9(self, index) -> None:
        if self.state.choose("qm9", str(int(index))):
            self.qm9_index.value = int(index)

    def _on_file(self, event) -> None:
        name, data, size = event.new
        if data is None:  # over the limit: refused in the browser, only its name and size came
            self.state.refuse_upload(name, size)
        else:
            self._choose_slow("file", name, data)

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
                self.player.set_link({"query": self._link_parts()})
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
                # the source shown is the molecule's: it may come from a link or from another tab
                self.source_picker.value = st.source
                # options and value together: a value missing from the options would be replaced
                self.atom_select.param.update(
                    options={f"{atom_label(symbols, i)} ({_ELEMENT.get(s, s)})": i for i, s in enumerate(symbols)},
                    value=settings.atom)
                if st.source == "example":
                    self.example_select.value = st.key
                    self.example_text.object = TEACHING_EXAMPLES[st.key].description
                elif st.source == "smiles":  # a restored link shows what it restored
                    self.smiles_input.value = st.key
                elif st.source == "qm9" and st.key.isdigit():
                    self.qm9_index.value = int(st.key)
                self.molecule_info.object = (f"**{mol.name}** · {mol.formula} · {len(mol)} atoms"
                                             + (f"  \n`{mol.smiles}`" if mol.smiles else ""))
            if new_molecule or result.atom != self._shown_atom:
                self._partner_options()
            to_x, to_e, _ = self._transform = display_transform(result.d, result.reference, settings.normalize)
            x = to_x(result.d)
            series = {"reference": to_e(result.reference), **{k: to_e(v) for k, v in result.models.items()}}
            invalid = _runs(x, ~result.valid)
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
                "zero": None if zero is None else [float(v) for v in zero], "query": self._link_parts()}
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
            self._readout_div.text = self._readout_html(frame)

    def _readout_html(self, frame) -> str:
        result = self.state.result
        rows = [("reference", frame.reference, None, 1.0)]
        for key, value in frame.predictions.items():
            rows.append((key, value, value - frame.reference, result.jump_ratio.get(key)))
        body = "".join(
            f"<tr><td><span class='sw' style='background:{STYLE[k]['color']}'></span>{LABELS.get(k, k)}</td>"
            f"<td>{_fmt(v)}</td><td>{_fmt(err, signed=True) if err is not None else ''}</td>"
            f"<td>{_fmt(jr, 1) if k != 'reference' else '1'}</td></tr>"
            for k, v, err, jr in rows)
        where = "" if frame.valid else " <b class='bad'>atoms collide here: left out</b>"
        chosen = "chosen by clicking" if self.state.train else f"drawn with seed {self.state.settings.seed}"
        return (f"<div class='wqml-d'>d = <b>{frame.d:+.2f} Å</b>{where} · CM distance to d = 0: "
                f"<b>W1 {_fmt(frame.w1, 4)}</b>, L1 sorted {_fmt(frame.l1_sorted, 2)}</div>"
                f"<div class='wqml-train'>{len(result.train_index)} training points, {chosen}</div>"
                "<table><thead><tr><th>Curve</th><th>E at d (kcal/mol)</th><th>Error</th>"
                "<th title='largest step between neighbouring grid points / the reference&#39;s'>Jump ratio</th>"
                f"</tr></thead><tbody>{body}</tbody></table>")

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
        self._source_widgets = {
            "example": pn.Column(self.example_select, self.example_text, sizing_mode="stretch_width"),
            "qm9": pn.Column(self.qm9_query, self.qm9_results, pn.Row(self.qm9_index, self.qm9_button),
                             sizing_mode="stretch_width"),
            "smiles": pn.Column(self.smiles_input, self.smiles_button, sizing_mode="stretch_width"),
            "file": pn.Column(pn.pane.Markdown(f"XYZ, SDF/MOL or PDB, at most {MAX_FILE_BYTES // 2**20} MiB; read in "
                                               "memory, nothing is stored.", css_classes=["wqml-note"]),
                              self.file_input,
                              sizing_mode="stretch_width"),
        }
        self._source_panel = pn.Column(self._source_widgets[self.state.source], sizing_mode="stretch_width")
        molecule_card = pn.Card(self.source_picker, self._source_panel, self.molecule_info, title="Molecule",
                                sizing_mode="stretch_width", collapsible=False, css_classes=["wqml-card"])
        scan_card = pn.Card(self.atom_select, self.axis_select, self.partner_select, self.custom_axis,
                            pn.Row(self.d_min, self.d_max, self.step), self.reference_select,
                            title="Scan", sizing_mode="stretch_width", collapsible=False, css_classes=["wqml-card"])
        advanced = _lazy_card(lambda: [pn.Row(self.sigma, self.lam), pn.Row(self.n_large, self.min_distance),
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


_ELEMENT = {"H": "hydrogen", "C": "carbon", "N": "nitrogen", "O": "oxygen", "F": "fluorine", "S": "sulfur",
            "P": "phosphorus", "Cl": "chlorine", "Br": "bromine", "I": "iodine", "B": "boron", "Si": "silicon"}


def _lazy_card(build, **params) -> pn.Card:
    """A collapsed card whose contents (``build()``: a list of objects) are made when it is first opened.

    A new session then pays nothing for settings few people open (a tenth of the sidebar's models).
    """
    card = pn.Card(collapsed=True, **params)

    def fill(event):
        if not event.new and not card.objects:
            card.objects = build()

    card.param.watch(fill, "collapsed")
    return card


def _runs(x: np.ndarray, mask: np.ndarray) -> list[tuple[float, float]]:
    """Display intervals covering each run of True in ``mask`` (half a grid step beyond each end)."""
    out = []
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return out
    half = float(abs(x[1] - x[0])) / 2 if x.size > 1 else 0.0
    breaks = np.flatnonzero(np.diff(idx) > 1)
    for a, b in zip(np.r_[idx[0], idx[breaks + 1]], np.r_[idx[breaks], idx[-1]], strict=True):
        out.append((float(x[a]) - half, float(x[b]) + half))
    return out


def _encode(value) -> str:
    """A link value: text as it is, everything else as JSON (``["l1_sorted"]``, ``false``, ``0.3``)."""
    if isinstance(value, str):
        return value
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def _decode(parameter: param.Parameter, text: str):
    """A link value back: text for text settings, else JSON; links written before the JSON encoding
    (``['l1_sorted']``, ``False``) are read as the Python literals they are (never evaluated)."""
    if isinstance(parameter, param.String):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return text
    try:
        return parameter.deserialize(value)  # e.g. a JSON list for a tuple setting
    except Exception:  # noqa: BLE001 (the setting itself then names what is wrong)
        return value
