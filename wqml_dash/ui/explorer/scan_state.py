"""State of the displacement explorer: which molecule, the scan settings, the current d and the result.

No widgets here and no science: the molecule comes from ``core.molecule``, the scan from
``core.scan.ScanEngine``, every number at d from core functions. This class only keeps the
pieces together, decides what has to be recomputed when something changes (a new grid needs a
new engine; a new training set only a new ``engine.result``; a new d nothing at all), turns user
errors into a message, and offers the values the views show at the current d (`Frame`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import numpy as np
import param

from ...core.scan.settings import DEFAULT_MODELS, ScanSettings
from ...core.scan.engine import ScanEngine, ScanResult
from ...core.scan.grid import normalize_displacement, normalize_energy
from ...core.scan.examples import TEACHING_EXAMPLES, molecule_from_example
from ...core.scan.grid import nearest_index
from ...core.scan.settings import ENGINE_SETTINGS, MODEL_SETTINGS
from ...core.scan.shared import SharedScans
from ...core.scan.molecule import Molecule, MoleculeError, molecule_from_qm9, molecule_from_smiles
from ...core.scan.molecule_files import check_file_size, molecule_from_file
from ..data.data_source import DataSource

SOURCES = ("example", "qm9", "smiles", "file")
DEFAULT_EXAMPLE = next(iter(TEACHING_EXAMPLES))

#: What a shared link carries: URL name -> (object, parameter). d is rounded to the grid.
URL_STATE = {"source": ("state", "source"), "mol": ("state", "key"), "atom": ("settings", "atom"),
             "axis": ("settings", "axis"), "partner": ("settings", "partner"),
             "custom_axis": ("settings", "custom_axis"), "d_min": ("settings", "d_min"),
             "d_max": ("settings", "d_max"), "step": ("settings", "step"), "n_train": ("settings", "n_train"),
             "seed": ("settings", "seed"), "models": ("settings", "models"),
             "reference": ("settings", "reference"), "normalize": ("settings", "normalize"),
             "d": ("state", "d"), "train": ("state", "train"), "presentation": ("state", "presentation")}


#: One per process: see `SharedScans`.
SHARED_SCANS = SharedScans()


def atom_label(symbols: list[str], i: int) -> str:
    """"C1": element symbol and 0-based index, as the 3D view and the heatmap label atoms."""
    return f"{symbols[i]}{i}"


def toggle_training_point(train: list[int], grid: np.ndarray, valid: np.ndarray, d: float,
                          tolerance: float) -> tuple[list[int], str | None]:
    """A click at displacement ``d`` adds or removes a training point.

    Removes the training point nearest to ``d`` if one lies within ``tolerance`` (Angstrom);
    otherwise adds the nearest valid grid point. At least two points always remain.

    Returns
    -------
    the new sorted list of grid indices, and a message when the click changed nothing
    """
    train = sorted(int(i) for i in train)
    if train:
        pos = np.asarray(grid)[train]
        k = int(np.argmin(np.abs(pos - d)))
        if abs(pos[k] - d) <= tolerance:
            if len(train) <= 2:
                return train, "KRR needs at least two training points"
            return train[:k] + train[k + 1:], None
    candidates = np.flatnonzero(np.asarray(valid))
    if candidates.size == 0:
        return train, "no valid grid point here"
    i = int(candidates[np.argmin(np.abs(np.asarray(grid)[candidates] - d))])
    if i in train:
        return train, None
    return sorted([*train, i]), None


def display_transform(d: np.ndarray, reference: np.ndarray, normalize: bool):
    """Functions mapping Angstrom and kcal/mol to what the main plot shows, and display d back to Angstrom.

    Normalised (the paper's Fig. 2, core's `normalize_displacement` / `normalize_energy`): d / max|d|
    of the grid, and energies shifted and scaled so that the reference spans [0, 1].
    """
    if not normalize:
        return (lambda x: x), (lambda e: e), (lambda x: x)
    grid = np.asarray(d, dtype=float)
    scale = float(grid[0] / normalize_displacement(grid)[0]) if grid[0] != 0 else float(np.abs(grid).max())
    return (lambda x: np.asarray(x) / scale), (lambda e: normalize_energy(e, reference)), (lambda x: x * scale)


@dataclass
class Frame:
    """What the views show at one grid point (all numbers from core)."""

    index: int                      # grid index
    d: float                        # Angstrom
    valid: bool                     # False where atoms collide (left out of the scan)
    coords: np.ndarray              # (n, 3) Angstrom, the displaced molecule
    reference: float                # kcal/mol (NaN if invalid)
    predictions: dict[str, float]   # model -> kcal/mol
    cm: np.ndarray | None           # (n, n) sorted Coulomb matrix (None if invalid)
    order: np.ndarray | None        # (n,) atom index of each sorted row
    entries: np.ndarray | None      # (n(n+1)/2,) CM entries, ascending
    w1: float                       # W1 between the CM at d and at d = 0
    l1_sorted: float                # L1 between the sorted CMs at d and at d = 0


class ExplorerState(param.Parameterized):
    """Molecule, scan settings, training points and current displacement of one explorer session."""

    settings = param.ClassSelector(class_=ScanSettings, instantiate=False, doc="The scan's settings (core)")
    data_source = param.ClassSelector(class_=DataSource, default=None, allow_None=True,
                                      doc="QM9, loaded by the app (for the QM9 molecule source)")
    source = param.Selector(default="example", objects=list(SOURCES), doc="Where the molecule comes from")
    key = param.String(default=DEFAULT_EXAMPLE, doc=(
        "Which molecule: example key, QM9 index, SMILES, or the uploaded file's name"))
    d = param.Number(default=0.0, doc="Current displacement, Angstrom (snapped to the grid)")
    train = param.List(default=[], item_type=int, doc=(
        "Training points chosen by clicking (grid indices); empty: drawn at random with the seed"))
    molecule = param.ClassSelector(class_=Molecule, default=None, allow_None=True, constant=True)
    result = param.ClassSelector(class_=ScanResult, default=None, allow_None=True, constant=True)
    error = param.String(default="", doc="The last thing that went wrong, for the user ('' if none)")
    busy = param.String(default="", doc="What is being built in the background ('' when idle)")
    notice = param.String(default="", doc="Information about the scan (left-out geometries)")
    presentation = param.Boolean(default=False, doc=(
        "Presentation mode: larger fonts and thicker lines for the back of a room (display only)"))

    def __init__(self, **params):
        params.setdefault("settings", ScanSettings())
        super().__init__(**params)
        self.engine: ScanEngine | None = None
        self._started = False
        self._quiet = False
        self._upload: tuple[bytes, str, int] | None = None  # (data, file name, frame)
        self._choice = 0  # counts molecule choices: a background build applies only if still the newest
        self._zero_entries: np.ndarray | None = None  # sorted CM entries of the undisplaced molecule
        self._shared: dict | None = None  # this scan's entry in SHARED_SCANS, if it is shared
        self._to_zero: dict[str, np.ndarray] = {}  # "w1" / "l1": (g,) distance of each grid CM to d = 0
        self.settings.param.watch(self._on_engine_setting, list(ENGINE_SETTINGS))
        self.settings.param.watch(self._on_model_setting, list(MODEL_SETTINGS))

    # ----------------------------------------------------------------- the molecule
    def start(self, url_keys: frozenset[str] | set[str] = frozenset()) -> None:
        """Load the molecule and compute the first scan (after the URL, if any, was applied).

        url_keys : query parameters the link set; an example's own atom and axis apply only when
        the link does not name them.
        """
        src = self.data_source
        if self.source == "qm9" and src is not None and src.dataset is None and not src.error:
            # A link to a QM9 molecule opened while QM9 still loads: start when it is there.
            self.notice = "Waiting for QM9 to load ..."

            def ready(event):
                if event.new is not None:
                    src.param.unwatch(watcher)
                    self.notice = ""
                    self.start(url_keys)

            watcher = src.param.watch(ready, "dataset")
            return
        self._started = True
        try:
            mol = self._make_molecule(self.source, self.key)
        except (MoleculeError, ValueError, OSError) as exc:
            # A link to a molecule that cannot be made (or QM9 not loaded yet): show the default.
            message = f"Could not load the molecule: {exc}"
            self.param.update(source="example", key=DEFAULT_EXAMPLE)
            self._set_molecule(molecule_from_example(DEFAULT_EXAMPLE), apply_defaults=True, keep_train=False)
            self.error = message
            return
        self._set_molecule(mol, apply_defaults=not ({"atom", "axis"} & set(url_keys)), keep_train=True)
        if self.result is None and url_keys:  # the link's settings make no scan: show the defaults' scan
            self._fall_back_to_defaults(mol)

    def _fall_back_to_defaults(self, mol: Molecule) -> None:
        """Default scan settings (first keeping the atom and axis), the link's problem still named."""
        problem = self.error.rstrip(".")
        keep = ("atom", "axis", "partner", "custom_axis")
        defaults = {k: self.settings.param[k].default for k in (*ENGINE_SETTINGS, *MODEL_SETTINGS) if k not in keep}
        self._quiet = True
        try:
            self.settings.param.update({k: list(v) if isinstance(v, list) else v for k, v in defaults.items()})
        finally:
            self._quiet = False
        self._set_molecule(mol, apply_defaults=False, keep_train=False)
        if self.result is None:
            self._set_molecule(mol, apply_defaults=True, keep_train=False)
        if self.result is not None:
            self.error = f"{problem}. The link's settings make no scan: the defaults are shown."

    def choose(self, source: str, key: str, data: bytes | None = None, frame: int = 0) -> bool:
        """Switch to another molecule (from a widget); on error keep the current one and say why.

        ``frame``: which frame of an uploaded file of several (a trajectory). Returns whether the molecule changed.
        """
        key = str(key).strip()
        upload = (data or b"", key, int(frame)) if source == "file" else self._upload
        self._choice += 1  # a later background choice must not override this one
        try:
            mol = self._make_molecule(source, key, upload)
        except (MoleculeError, ValueError, OSError) as exc:
            self.error = f"Could not load the molecule: {exc}"
            return False
        self._apply_choice(source, key, upload, mol)
        return True

    async def choose_in_background(self, source: str, key: str, data: bytes | None = None, frame: int = 0) -> bool:
        """`choose`, with the molecule built in a worker thread.

        Embedding a large SMILES or perceiving the bonds of a large file can take seconds; on the
        server's event loop that would freeze every session, not only this one. Only the newest
        of overlapping choices is applied; `busy` says what is being built meanwhile.
        """
        key = str(key).strip()
        upload = (data or b"", key, int(frame)) if source == "file" else self._upload
        self._choice += 1
        ticket = self._choice
        self.busy = f"Building the molecule ({'upload' if source == 'file' else source}) …"
        try:
            mol = await asyncio.get_running_loop().run_in_executor(None, self._make_molecule, source, key, upload)
            if ticket != self._choice:
                return False
            # The scan runs on the event loop: say so, and let the page show it before the work starts.
            self.busy = f"Computing the scan of {mol.formula} ({len(mol)} atoms) …"
            await asyncio.sleep(0.05)
            if ticket != self._choice:
                return False
            self._apply_choice(source, key, upload, mol)
            return True
        except (MoleculeError, ValueError, OSError) as exc:
            if ticket == self._choice:
                self.error = f"Could not load the molecule: {exc}"
            return False
        finally:
            if ticket == self._choice:
                self.busy = ""

    def refuse_upload(self, filename: str, size: int) -> None:
        """A file the browser did not send (over the size limit): say so, keep the current molecule."""
        try:
            check_file_size(filename, size)
        except MoleculeError as exc:
            self.error = f"Could not load the molecule: {exc}"
        else:
            self.error = f"Could not load the molecule: {filename} could not be read by the browser"

    def _apply_choice(self, source: str, key: str, upload, mol: Molecule) -> None:
        self._upload = upload
        self.param.update(source=source, key=key)
        self._set_molecule(mol, apply_defaults=True, keep_train=False)

    def _make_molecule(self, source: str, key: str, upload: tuple[bytes, str, int] | None = None) -> Molecule:
        mol = self._read_molecule(source, key, upload)
        if len(mol) < 2:
            raise MoleculeError(f"{mol.name} is a single atom, which has nothing to move against: "
                                "choose a molecule with at least two atoms")
        return mol

    def _read_molecule(self, source: str, key: str, upload: tuple[bytes, str, int] | None = None) -> Molecule:
        key = key.strip()
        if source == "example":  # the same molecule for every session: embedded once per process
            cache = SHARED_SCANS.molecules
            if key not in cache:
                cache[key] = molecule_from_example(key)
            return cache[key]
        if source == "smiles":
            if not key:
                raise MoleculeError("type a SMILES string, e.g. CCO for ethanol")
            return molecule_from_smiles(key)
        if source == "qm9":
            dataset = self.data_source.dataset if self.data_source is not None else None
            if dataset is None:
                raise MoleculeError("QM9 is still loading; try again in a moment")
            try:
                index = int(key)
            except ValueError:
                raise MoleculeError(f"a QM9 index is a whole number, got {key!r}") from None
            return molecule_from_qm9(dataset, index)
        if source == "file":
            upload = upload or self._upload
            if upload is None or upload[1] != key:
                raise MoleculeError("an uploaded file cannot be restored from a link: upload it again")
            return molecule_from_file(*upload)
        raise MoleculeError(f"unknown molecule source {source!r}; choose one of {list(SOURCES)}")

    def _set_molecule(self, mol: Molecule, apply_defaults: bool, keep_train: bool) -> None:
        updates, replaced = {}, []
        if apply_defaults:
            updates.update(atom=0, axis="normal", partner=None)
            if self.source == "example" and self.key in TEACHING_EXAMPLES:
                example = TEACHING_EXAMPLES[self.key]
                updates.update(atom=example.atom, axis=example.axis, partner=getattr(example, "partner", None))
        elif not 0 <= self.settings.atom < len(mol):
            replaced.append(f"atom {self.settings.atom}")
            updates["atom"] = 0
        if self.settings.partner is not None and not 0 <= self.settings.partner < len(mol):
            if not apply_defaults:
                replaced.append(f"partner {self.settings.partner}")
            updates["partner"] = None
        self._quiet = True  # one rebuild below, not one per changed setting
        try:
            with param.edit_constant(self):
                self.molecule = mol
            self.settings.param.update(updates)
            if not keep_train:
                self.train = []
        finally:
            self._quiet = False
        self.error = ""
        self._rebuild()
        if replaced and not self.error:
            self.error = (f"{mol.name} has atoms 0 to {len(mol) - 1}: {' and '.join(replaced)} "
                          "does not exist; the defaults are used instead.")

    # ----------------------------------------------------------------- recomputation
    def _on_engine_setting(self, *events) -> None:
        if self._started and not self._quiet and self.molecule is not None:
            settings = self.settings
            if settings.axis == "bond" and (settings.partner is None or settings.partner == settings.atom):
                partner = self.molecule.default_partner(settings.atom)
                if partner is not None and partner != settings.partner:
                    settings.partner = partner  # runs this watcher again, with a partner
                    return
            if any(e.name in ("atom", "d_min", "d_max", "step", "min_distance") for e in events):
                self.train = []  # grid indices mean other geometries now
            self._rebuild()

    def _on_model_setting(self, *events) -> None:
        if self._started and not self._quiet and self.engine is not None:
            if any(e.name in ("n_train", "seed") for e in events) and self.train:
                self.train = []  # triggers _retrain
            else:
                self._retrain()

    @param.depends("train", watch=True)
    def _on_train(self) -> None:
        if self._started and not self._quiet and self.engine is not None:
            self._retrain()

    def _rebuild(self) -> None:
        self._shared = None
        try:
            key = SharedScans.key(self.molecule, self.settings)
            if key is None:
                engine = ScanEngine(self.molecule, self.settings)
            else:
                engine, self._shared = SHARED_SCANS.engine(key, self.molecule, self.settings)
        except ValueError as exc:  # ScanError, ReferenceError: settings that make no scan
            self.engine = None
            self.error = f"The scan could not be computed: {exc}"  # first: the views read it when result goes
            with param.edit_constant(self):
                self.result = None
            return
        self.engine = engine
        self._to_zero, self._zero_entries = (self._shared["zero"] if self._shared is not None
                                             else engine.distances_to_zero())  # once per scan
        dropped = bool(self.train) and not (0 <= min(self.train) and max(self.train) < engine.d.size
                                            and engine.valid[self.train].all())
        if dropped:
            self.train = []
        self._retrain()
        if dropped and not self.error:
            self.error = ("The chosen training points do not all lie on valid points of this grid: "
                          "they were drawn at random instead.")

    def _retrain(self) -> None:
        engine = self.engine

        def compute():
            return engine.result(np.asarray(self.train, dtype=np.int64) if len(self.train) >= 2 else None)

        try:
            shared = self._shared
            if shared is not None and SharedScans.key(self.molecule, self.settings) == SharedScans.key(
                    self.molecule, shared["engine"].settings):
                result = SHARED_SCANS.result(shared, tuple(self.train), compute)
            else:
                result = compute()
        except ValueError as exc:
            self.error = f"The models could not be trained: {exc}"
            return
        self.error = ""
        self.notice = result.notice or ""
        d = float(result.d[self.grid_index(self.d, result.d)])
        with param.edit_constant(self):
            self.param.update(result=result, d=d)

    # ----------------------------------------------------------------- actions
    def new_training_set(self) -> None:
        """Draw another random training set (the next seed)."""
        self.settings.seed += 1

    def toggle_training_point(self, d: float) -> None:
        """Add the grid point nearest to ``d`` (Angstrom) or remove the training point there."""
        result = self.result
        if result is None:
            return
        tolerance = max(1.5 * abs(self.settings.step), 0.015 * float(np.ptp(result.d)))
        new, message = toggle_training_point(list(result.train_index), result.d, result.valid, d, tolerance)
        if message:
            self.error = message
        elif new != sorted(int(i) for i in result.train_index):
            self.train = new

    # ----------------------------------------------------------------- values at d
    @staticmethod
    def grid_index(d: float, grid: np.ndarray) -> int:
        """The grid index nearest to ``d`` (core's `nearest_index`)."""
        return nearest_index(grid, d)

    def frame(self, d: float | None = None) -> Frame | None:
        """Everything the views show at ``d`` (default: the current d), snapped to the grid."""
        result, engine = self.result, self.engine
        if result is None or engine is None:
            return None
        i = self.grid_index(self.d if d is None else d, result.d)
        di = float(result.d[i])
        coords = engine.geometries[i]
        valid = bool(result.valid[i])
        predictions = {k: float(v[i]) for k, v in result.models.items()}
        cm = order = entries = None
        if valid:
            cm, order = engine.cm_at(di)
            entries = engine.features("w1", "sorted")[np.searchsorted(engine.rows, i)]
        w1 = float(self._to_zero["w1"][i]) if self._to_zero else float("nan")
        l1 = float(self._to_zero["l1"][i]) if self._to_zero else float("nan")
        return Frame(index=i, d=di, valid=valid, coords=coords, reference=float(result.reference[i]),
                     predictions=predictions, cm=cm, order=order, entries=entries, w1=w1, l1_sorted=l1)

    @property
    def zero_entries(self) -> np.ndarray | None:
        """(n(n+1)/2,) sorted CM entries of the undisplaced molecule."""
        return self._zero_entries


__all__ = ["DEFAULT_MODELS", "ExplorerState", "Frame", "SOURCES", "URL_STATE", "atom_label",
           "display_transform", "toggle_training_point"]
