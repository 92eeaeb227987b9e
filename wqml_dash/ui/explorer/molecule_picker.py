"""The explorer's "Molecule" card: a teaching example, a QM9 molecule (searched), a SMILES or a file."""

from __future__ import annotations

import asyncio
from functools import partial

import panel as pn
import param

from ...core.scan.ase_files import ASE_EXTENSIONS
from ...core.scan.examples import TEACHING_EXAMPLES
from ...core.scan.molecule import MAX_FILE_BYTES, MoleculeError, search_qm9
from ...core.scan.molecule_files import frames_in_file
from .scan_state import ExplorerState
from .texts import SOURCE_LABELS
from .upload_box import UploadBox

#: Files of more frames than this get a number box instead of a list of frames.
MAX_LISTED_FRAMES = 500
#: What the file picker offers: RDKit's formats and the common ones ASE reads (any file can still be chosen).
ACCEPT = ",".join((".xyz", ".sdf", ".mol", ".pdb", *ASE_EXTENSIONS))


class MoleculePicker(pn.viewable.Viewer):
    """Where the explorer's molecule comes from; choosing one goes to the `ExplorerState`."""

    state = param.ClassSelector(class_=ExplorerState)

    def __init__(self, **params):
        super().__init__(**params)
        st = self.state
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
        # No bounds in the browser (see DisplacementExplorer._number_input): the server names the valid indices.
        self.qm9_index = pn.widgets.IntInput(label="QM9 index", value=1, width=120)
        self.qm9_button = pn.widgets.Button(label="Load", color="primary", align="end")
        self.file_input = UploadBox(accept=ACCEPT, max_bytes=MAX_FILE_BYTES,
                                    label="Upload a molecule file (XYZ, SDF/MOL, PDB or any file ASE reads)",
                                    sizing_mode="stretch_width", height=40)
        # Shown only for a file of several frames (a trajectory, an optimisation, a multi-record SDF).
        self.frame_select = pn.widgets.Select(label="Frame", options={}, visible=False, sizing_mode="stretch_width")
        self.frame_number = pn.widgets.IntInput(label="Frame", value=0, width=140, visible=False)
        self._file: tuple[str, bytes, list[str]] | None = None  # (name, data, frame labels) of the last upload
        self._file_serial = 0  # counts uploads: a background read applies only if still the newest
        self._echo = False
        self.molecule_info = pn.pane.Markdown("", margin=(0, 10), css_classes=["wqml-molinfo"])

        self.source_picker.param.watch(self._on_source, "value")
        self.example_select.param.watch(self._pick_example, "value")
        # The text box commits on Enter or when it loses focus (clicking the button does both).
        self.smiles_button.on_click(self._on_smiles_button)
        self.smiles_input.param.watch(self._on_smiles_input, "value")
        self.qm9_query.param.watch(self._on_qm9_query, "value")
        self.qm9_results.param.watch(lambda e: e.new is not None and self._load_qm9(e.new), "value")
        self.qm9_button.on_click(lambda e: self._load_qm9(self.qm9_index.value))
        self.file_input.param.watch(self._on_file, "received")
        self.frame_select.param.watch(lambda e: self._on_frame(e.new), "value")
        self.frame_number.param.watch(lambda e: self._on_frame(e.new), "value")

        self._source_widgets = {
            "example": pn.Column(self.example_select, self.example_text, sizing_mode="stretch_width"),
            "qm9": pn.Column(self.qm9_query, self.qm9_results, pn.Row(self.qm9_index, self.qm9_button),
                             sizing_mode="stretch_width"),
            "smiles": pn.Column(self.smiles_input, self.smiles_button, sizing_mode="stretch_width"),
            "file": pn.Column(pn.pane.Markdown(f"XYZ, SDF/MOL, PDB or a file ASE reads (extended XYZ, .traj, "
                                               ".db, Gaussian/ORCA outputs, POSCAR, …), at most "
                                               f"{MAX_FILE_BYTES // 2**20} MiB; read in memory, nothing is kept. "
                                               "A file of several frames offers a choice of frame.",
                                               css_classes=["wqml-note"]),
                              self.file_input, self.frame_select, self.frame_number,
                              sizing_mode="stretch_width"),
        }
        self._source_panel = pn.Column(self._source_widgets[self.state.source], sizing_mode="stretch_width")
        self._card = pn.Card(self.source_picker, self._source_panel, self.molecule_info, title="Molecule",
                             sizing_mode="stretch_width", collapsible=False, css_classes=["wqml-card"])

    def show(self, mol) -> None:
        """Show the state's molecule ``mol`` and where it came from (a link, another tab, this card)."""
        st = self.state
        self.source_picker.value = st.source
        if st.source == "example":
            self.example_select.value = st.key
            self.example_text.object = TEACHING_EXAMPLES[st.key].description
        elif st.source == "smiles":  # a restored link shows what it restored
            self.smiles_input.value = st.key
        elif st.source == "qm9" and st.key.isdigit():
            self.qm9_index.value = int(st.key)
        self.molecule_info.object = (f"**{mol.name}** · {mol.formula} · {len(mol)} atoms"
                                     + (f"  \n`{mol.smiles}`" if mol.smiles else ""))

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
        if _served():
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
            return
        self._file_serial += 1
        if _served():  # counting the frames parses the file: in a worker thread, as the molecule is built
            pn.state.execute(partial(self._read_file_in_background, name, data, self._file_serial))
            return
        try:
            labels = frames_in_file(data, name)
        except (MoleculeError, ValueError, OSError) as exc:
            self.state.error = f"Could not load the molecule: {exc}"
            return
        self._show_frames(name, data, labels)
        self.state.choose("file", name, data)

    async def _read_file_in_background(self, name: str, data: bytes, serial: int) -> None:
        self.state.busy = f"Reading {name} …"
        try:
            labels = await asyncio.get_running_loop().run_in_executor(None, frames_in_file, data, name)
        except (MoleculeError, ValueError, OSError) as exc:
            if serial == self._file_serial:
                self.state.param.update(error=f"Could not load the molecule: {exc}", busy="")
            return
        if serial != self._file_serial:
            return
        self._show_frames(name, data, labels)
        await self.state.choose_in_background("file", name, data)

    def _show_frames(self, name: str, data: bytes, labels: list[str]) -> None:
        """The frame chooser of a new upload: hidden for one frame, a list for a few, a number for many."""
        self._file = (name, data, labels)
        many = len(labels) > MAX_LISTED_FRAMES
        self._echo = True
        try:
            self.frame_select.options = {} if many or len(labels) < 2 else {lab: k for k, lab in enumerate(labels)}
            self.frame_select.value = None if many or len(labels) < 2 else 0
            # No bounds in the browser (as the QM9 index): `_on_frame` names the valid frames.
            self.frame_number.param.update(value=0, name=f"Frame (0 to {len(labels) - 1:,})")
        finally:
            self._echo = False
        self.frame_select.visible = 1 < len(labels) <= MAX_LISTED_FRAMES
        self.frame_number.visible = many

    def _on_frame(self, k) -> None:
        """Load frame ``k`` of the last upload (from the frame chooser)."""
        if self._echo or self._file is None or k is None:
            return
        name, data, labels = self._file
        if not 0 <= int(k) < len(labels):
            self.state.error = f"Could not load the molecule: {name} has frames 0 to {len(labels) - 1}"
            return
        if _served():
            pn.state.execute(partial(self.state.choose_in_background, "file", name, data, int(k)))
        else:
            self.state.choose("file", name, data, int(k))

    def __panel__(self):
        return self._card


def _served() -> bool:
    """Whether this runs in a served session (else: a notebook or a test, where work is done at once)."""
    doc = pn.state.curdoc
    return doc is not None and doc.session_context is not None and doc.session_context.server_context is not None
