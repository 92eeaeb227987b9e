"""Data sets from any file ASE reads: extended and multi-frame XYZ, SDF, ASE databases, trajectories
and the outputs of many quantum-chemistry programs.

`load_dataset(path, target=..., unit=...)` reads a file (and a CSV of properties beside it);
`dataset_from_ase(frames, ...)` takes ``ase.Atoms`` already in memory. The checks and the
reading of each frame's numbers are `ase_frames`'.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from .ase_frames import MAX_DATASET_ATOMS, normalize_unit
from .dataset import DEFAULT_TARGET, MolecularDataset
from .errors import DataError

#: File extensions offered as data sets (what ASE reads for molecules); CSV files are side tables.
DATASET_SUFFIXES = (".xyz", ".extxyz", ".db", ".traj", ".json", ".sdf", ".pdb", ".cif", ".log", ".out")

_COLUMN_UNIT = re.compile(r"^\s*(?P<key>[^\[\]]+?)\s*\[(?P<unit>[^\[\]]*)\]\s*$")


def dataset_from_ase(frames: Iterable, target: str | None = None, unit: str | None = None,
                     **options) -> MolecularDataset:
    """`MolecularDataset.from_ase`: a data set of ``ase.Atoms`` frames (options: `ase_frames.arrays_from_ase`)."""
    return MolecularDataset.from_ase(frames, target=target, unit=unit, **options)


def default_target(dataset: MolecularDataset) -> str | None:
    """The property to learn when none is named: the paper's target, else ``energy``, else the
    only property; None when the choice is the user's."""
    for name in (DEFAULT_TARGET, "energy"):
        if name in dataset.properties:
            return name
    return next(iter(dataset.properties)) if len(dataset.properties) == 1 else None


def _read_frames(path: Path, format: str | None) -> list:
    """Every frame of a file, as ``ase.Atoms``; ASE databases with their key-value pairs in ``info``."""
    import ase.io

    try:
        if (format or path.suffix.lower().lstrip(".")) == "db":
            import ase.db

            frames = []
            with ase.db.connect(str(path), type="db") as db:
                for row in db.select():
                    atoms = row.toatoms()
                    atoms.info.update(row.key_value_pairs)
                    frames.append(atoms)
            return frames
        frames = ase.io.read(str(path), index=":", format=format)
    except DataError:
        raise
    except Exception as exc:  # ASE's readers raise anything from StopIteration to KeyError on bad files
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise DataError(f"{path.name}: ASE cannot read it as {format or path.suffix or 'a known format'} "
                        f"({type(exc).__name__}: {first})") from None
    return frames if isinstance(frames, list) else [frames]


def read_side_table(path: Path, n_frames: int) -> dict[str, tuple[np.ndarray, str]]:
    """Numeric columns of a CSV file, one row per frame: key -> (values, unit).

    A header ``E_mmff [kcal/mol]`` names the property ``E_mmff`` in kcal/mol. A ``frame``
    column, if present, says which frame each row belongs to (0-based).
    """
    import pandas as pd

    try:
        table = pd.read_csv(path)
    except Exception as exc:
        raise DataError(f"{path.name}: not a readable CSV file ({str(exc).splitlines()[0][:200]})") from None
    if len(table) != n_frames:
        raise DataError(f"{path.name}: {len(table)} rows for {n_frames} frames; the table beside a data file "
                        f"has one row per frame")
    if "frame" in table.columns:
        frame = table["frame"].to_numpy()
        if sorted(frame.tolist()) != list(range(n_frames)):
            raise DataError(f"{path.name}: the 'frame' column must number the frames 0 to {n_frames - 1}, each once")
        table = table.set_index("frame").sort_index()
    out = {}
    for column in table.columns:
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(values).all():
            continue  # a text column (names, SMILES)
        match = _COLUMN_UNIT.match(str(column))
        key, unit = (match["key"], normalize_unit(match["unit"])) if match else (str(column).strip(), "")
        out[key] = (values, unit)
    return out


_CACHE: dict = {}
_CACHE_LOCK = threading.Lock()


def load_dataset(path, target: str | None = None, unit: str | None = None, *, csv=None,
                 references: Mapping | None = None, format: str | None = None,
                 max_atoms: int = MAX_DATASET_ATOMS) -> MolecularDataset:
    """Read a data set from a file ASE reads (cached per process while the file is unchanged).

    Parameters
    ----------
    path : extended XYZ (``energy=...`` and other ``key=value`` pairs per frame), multi-frame XYZ,
        an ASE database (``.db``), a trajectory (``.traj``), SDF, or any output ASE reads
    target, unit, references, max_atoms : as in `dataset_from_ase`
    csv : a CSV file of properties, one row per frame; default: the file's name with ``.csv``
        in place of its extension, when there is one
    format : ASE's format name when the extension does not say it

    Raises
    ------
    DataError
        the file is missing or unreadable, or what `dataset_from_ase` refuses.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    side = Path(csv) if csv is not None else path.with_suffix(".csv")
    if csv is not None and not side.is_file():
        raise DataError(f"{side}: no such file")
    has_side = side.is_file() and side != path
    stamp = lambda p: (str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns)  # noqa: E731
    key = (stamp(path), stamp(side) if has_side else None, target, unit, format, max_atoms,
           tuple(sorted((str(k), float(v)) for k, v in (references or {}).items())))
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    frames = _read_frames(path, format)
    extra = read_side_table(side, len(frames)) if has_side else {}
    dataset = MolecularDataset.from_ase(frames, target=target, unit=unit, name=path.name, references=references,
                                        extra=extra, max_atoms=max_atoms)
    with _CACHE_LOCK:
        if len(_CACHE) > 16:
            _CACHE.clear()
        _CACHE[key] = dataset
    return dataset


def dataset_files(folder) -> list[Path]:
    """The data set files of a folder (not its subfolders), by name; CSV side tables left out."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DATASET_SUFFIXES
                   and not p.name.startswith(".")), key=lambda p: p.name.lower())
