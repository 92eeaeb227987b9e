"""The data sets the app offers: the embedded QM9 and every data set file of an operator-configured
folder (``$WQML_DATA_DIR``). Users choose by name; they never type a path on the server.

Listing the folder is cheap (names only) and done when a session builds its choosers; a file is
read only when chosen, in a worker thread, and `core.data.load_dataset` keeps it for the process,
so sessions share it.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import param

from ...core.data import PROPERTIES, DataError, MolecularDataset, dataset_files, load_dataset

#: The environment variable naming the folder of data sets the app offers besides QM9.
DATA_DIR_ENV = "WQML_DATA_DIR"
#: The name under which the embedded QM9 is offered (always first).
QM9_NAME = "QM9"
#: Shown instead of an empty unit.
NO_UNIT = "unit not given"

_TABLES: dict = {}  # id(dataset) -> (dataset, its table): one table per loaded data set and process
_TABLES_LOCK = threading.Lock()


def data_folder() -> Path | None:
    """The folder ``$WQML_DATA_DIR`` names, None when unset or not a folder."""
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    if not value:
        return None
    folder = Path(value).expanduser()
    return folder if folder.is_dir() else None


def catalogue() -> dict[str, Path | None]:
    """Name -> file of every data set offered: ``{"QM9": None, "conformers.extxyz": Path(...), ...}``.

    QM9 comes first; a file named like QM9 is left out. Unset or missing folder: only QM9.
    """
    folder = data_folder()
    files = dataset_files(folder) if folder is not None else []
    out: dict[str, Path | None] = {QM9_NAME: None}
    out.update({p.name: p for p in files if p.name != QM9_NAME})
    return out


def unit_text(unit: str) -> str:
    """``'eV'`` -> ``'eV'``; ``''`` -> ``'unit not given'``."""
    return unit or NO_UNIT


def property_label(dataset: MolecularDataset | None, key: str) -> str:
    """How a property is named on the page: QM9's with its description ('Atomization energy from U0
    (kcal/mol)'), a file's by its key and unit ('energy (eV)', 'dipole (unit not given)')."""
    if dataset is None or (dataset.index_name == "qm9_index" and key in PROPERTIES):
        unit, desc = PROPERTIES[key]
        return f"{desc[:1].upper()}{desc[1:]} ({unit})"
    return f"{key} ({unit_text(dataset.unit(key))})"


def property_options(dataset: MolecularDataset | None) -> dict[str, str]:
    """Label -> key of the properties of a data set (None: QM9's), for a Select."""
    keys = PROPERTIES if dataset is None else dataset.properties
    return {property_label(dataset, k): k for k in keys}


def table_of(dataset: MolecularDataset):
    """One row per molecule (frame, SMILES where any is known, formula, atoms, every property), built once
    per data set and shared by the sessions (do not change it)."""
    with _TABLES_LOCK:
        if id(dataset) in _TABLES and _TABLES[id(dataset)][0] is dataset:
            return _TABLES[id(dataset)][1]
    table = dataset.to_frame(properties=tuple(dataset.properties))
    if "smiles" in table and not table["smiles"].astype(bool).any():
        table = table.drop(columns="smiles")
    with _TABLES_LOCK:
        if len(_TABLES) > 16:
            _TABLES.clear()
        _TABLES[id(dataset)] = (dataset, table)
    return table


def read_data_set(path: Path) -> tuple[MolecularDataset, object]:
    """The data set of a file and its table (blocking: call it in a worker thread)."""
    dataset = load_dataset(path)
    return dataset, table_of(dataset)


class DataSetLoader(param.Parameterized):
    """The data set a session has chosen: QM9 (nothing to load here: `DataSource` loads it), or a file
    of the catalogue, read off the event loop.

    A failure to read the file (`DataError`) is kept in ``error`` as its one-line message.
    """

    chosen = param.String(default=QM9_NAME, doc="The chosen data set's name (a key of `catalogue`)")
    path = param.Parameter(default=None, doc="Its file; None for QM9")
    dataset = param.ClassSelector(class_=MolecularDataset, allow_None=True, default=None,
                                  doc="The chosen file's data set once read; None for QM9, while reading or "
                                      "after a failure")
    table = param.DataFrame(default=None, allow_None=True, doc="One row per molecule of `dataset`")
    loading = param.Boolean(default=False, doc="Whether a file is being read")
    error = param.String(default="", doc="Why the chosen file could not be read, for the user")

    @property
    def is_qm9(self) -> bool:
        return self.chosen == QM9_NAME

    async def choose(self, name: str, choices: dict | None = None) -> None:
        """Choose data set ``name`` of ``choices`` (default: `catalogue`) and read it in a worker thread."""
        choices = catalogue() if choices is None else choices
        if name == QM9_NAME:
            self.param.update(chosen=name, path=None, dataset=None, table=None, loading=False, error="")
            return
        if name not in choices:
            self.param.update(chosen=name, path=None, dataset=None, table=None, loading=False,
                              error=f"{name}: no such data set in the server's data folder")
            return
        path = choices[name]
        self.param.update(chosen=name, path=path, dataset=None, table=None, loading=True, error="")
        try:
            dataset, table = await asyncio.get_running_loop().run_in_executor(None, read_data_set, path)
        except DataError as exc:
            result = dict(error=_one_line(str(exc)))
        except Exception as exc:  # noqa: BLE001 (any reader failure: say so in the page, keep the server)
            result = dict(error=_one_line(f"{name} could not be read: {type(exc).__name__}: {exc}"))
        else:
            result = dict(dataset=dataset, table=table)
        if self.chosen != name:  # the user chose another data set meanwhile
            return
        self.param.update(loading=False, **result)


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "unknown error"
