"""Molecules from the files ASE reads (extended XYZ, trajectories, ASE databases, program outputs, ...).

`molecule_files` sends here every extension RDKit does not read (and extended-XYZ frames of an
``.xyz`` file). A file may hold several frames (a trajectory, an optimisation, a database): one
is chosen by its index. Every frame goes through the same checks as an XYZ file (size,
coordinates, atoms on one spot) and gets its bonds perceived from the geometry. Periodic
structures are refused: the Coulomb matrix here is for isolated molecules.

Files are read from memory (``io.BytesIO`` / ``io.StringIO``). The few formats ASE reads only
from a named file (an ASE SQLite database, ``.db``) are written to a private temporary directory
that is deleted as soon as ASE has read it. ASE is imported only here, when a file needs it (its
import costs the app's start otherwise).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict

import numpy as np

from .molecule import (MAX_Z, Molecule, MoleculeError, _check_coords, _check_separation, _check_size, _first_line,
                       _from_rdkit, perceive_bonds)

#: ASE formats read here: geometries of molecules (and periodic structures, to refuse them by name).
#: Left out on purpose: writers only (png, pov, html, ...), databases on a server (postgresql,
#: mysql), directories (bundletrajectory), formats needing extra packages (netCDF, vtk) and XML.
ASE_FORMATS = frozenset({
    "extxyz", "xyz", "traj", "db", "json", "cif", "gaussian-out", "gaussian-in", "orca-output", "nwchem-out",
    "nwchem-in", "gamess-us-out", "gamess-us-punch", "espresso-out", "espresso-in", "vasp", "vasp-out",
    "vasp-xdatcar", "gen", "dftb", "cube", "xsf", "gromacs", "gromos", "turbomole", "aims", "aims-output",
    "castep-cell", "castep-castep", "castep-geom", "castep-md", "cjson", "eon", "res", "dmol-car", "dmol-arc",
    "crystal", "v-sim", "magres", "lammps-dump-text",
})
#: Extensions shown to users as examples of what ASE adds (the upload's file picker offers these).
ASE_EXTENSIONS = (".extxyz", ".traj", ".db", ".json", ".cif", ".log", ".out", ".vasp", ".gen", ".cube", ".xsf",
                  ".gro", ".com", ".gjf", ".pwi", ".pwo", ".nwo", ".castep", ".cell", ".res", ".car", ".arc")
#: Output formats whose extension is shared by several programs (.log, .out): the content decides.
_BY_CONTENT = frozenset({"gaussian-out", "espresso-out"})
#: Formats whose cell is a box around the molecule, never a periodic lattice (a cube file's grid).
_BOX_ONLY = frozenset({"cube"})


def ase_format(name: str, ext: str, data: bytes | str) -> str | None:
    """The ASE format of a file from its name (and, for .log/.out, its first bytes); None if not read here."""
    from ase.io.formats import UnknownFileTypeError, filetype, match_magic

    try:
        fmt = filetype(name, read=False)
    except UnknownFileTypeError:
        return None
    if fmt in _BY_CONTENT or ext in (".log", ".out"):
        head = data[:50_000]
        try:
            magic = match_magic(head.encode("utf-8", "replace") if isinstance(head, str) else bytes(head)).name
        except UnknownFileTypeError:
            magic = None
        if magic in ASE_FORMATS:
            fmt = magic
    return fmt if fmt in ASE_FORMATS else None


#: The frames of the last few files read (by content and format): choosing another frame of a
#: trajectory does not parse it again. Frames are only read from, never changed.
_RECENT: OrderedDict[tuple[str, str], list] = OrderedDict()
_RECENT_FILES = 4
_RECENT_LOCK = threading.Lock()


def read_ase_frames(data: bytes | str, name: str, fmt: str) -> list:
    """Every frame (``ase.Atoms``) of a file ASE reads, or one `MoleculeError` line naming the file."""
    import hashlib

    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    key = (hashlib.sha256(raw).hexdigest(), fmt)
    with _RECENT_LOCK:
        if key in _RECENT:
            _RECENT.move_to_end(key)
            return _RECENT[key]
    images = _read(raw, name, fmt)
    with _RECENT_LOCK:
        _RECENT[key] = images
        while len(_RECENT) > _RECENT_FILES:
            _RECENT.popitem(last=False)
    return images


def _read(raw: bytes, name: str, fmt: str) -> list:
    import warnings

    import ase.io
    from ase.io.formats import ioformats

    io_format = ioformats[fmt]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if not io_format.acceptsfd:
                images = _read_via_temporary_file(raw, fmt)
            elif io_format.isbinary:
                images = ase.io.read(io.BytesIO(raw), index=":", format=fmt, parallel=False)
            else:
                if b"\x00" in raw:
                    raise MoleculeError(f"{name}: not a text file (it contains NUL bytes)")
                text = raw.decode("utf-8", errors="replace")
                images = ase.io.read(io.StringIO(text), index=":", format=fmt, parallel=False)
    except MoleculeError:
        raise
    except Exception as exc:  # noqa: BLE001 - ASE's readers raise anything on a bad file
        why = _first_line(exc)[:200] if str(exc).strip() else f"not a valid {fmt} file"
        raise MoleculeError(f"{name}: ASE cannot read it as {fmt} ({why})") from None
    images = [a for a in (images if isinstance(images, list) else [images])]
    if not images:
        raise MoleculeError(f"{name}: ASE found no structure in it (read as {fmt})")
    return images


def _read_via_temporary_file(raw: bytes, fmt: str) -> list:
    """ASE formats that need a file name (an SQLite database): a private temporary file, always deleted."""
    import os
    import tempfile

    import ase.io

    with tempfile.TemporaryDirectory(prefix="wqml-upload-") as folder:
        path = os.path.join(folder, "upload." + ("db" if fmt == "db" else "dat"))
        with open(path, "wb") as fh:
            fh.write(raw)
        os.chmod(path, 0o600)
        return list(ase.io.read(path, index=":", format=fmt, parallel=False))


def frame_index(frame: int, count: int, name: str) -> int:
    """``frame`` as a 0-based index into ``count`` frames (negative: from the end, as in Python and ASE)."""
    try:
        k = int(frame)
    except (TypeError, ValueError):
        raise MoleculeError(f"{name}: a frame is a whole number, got {frame!r}") from None
    if not -count <= k < count:
        span = "it has one frame, 0" if count == 1 else f"it has {count:,} frames, 0 to {count - 1:,}"
        raise MoleculeError(f"{name}: there is no frame {k}; {span}")
    return k % count


def frame_label(k: int, formula: str, energy: float | None = None, note: str = "") -> str:
    """A frame as the explorer's frame chooser and ``wqml scan`` name it: ``'2: C2H6O, E = -3.1 eV'``."""
    text = f"{k}: {formula}"
    if energy is not None and np.isfinite(energy):
        text += f", E = {energy + 0.0:.6g} eV"  # + 0.0: no "-0"
    note = " ".join(note.split())
    if note:
        text += f", {note[:40]}{'…' if len(note) > 40 else ''}"
    return text


def atoms_energy(atoms) -> float | None:
    """The energy a frame carries (its calculator's results or ``info['energy']``), eV; None if none."""
    value = None
    calc = getattr(atoms, "calc", None)
    results = getattr(calc, "results", None)
    if isinstance(results, dict):
        value = results.get("energy", results.get("free_energy"))
    if value is None:
        value = atoms.info.get("energy") if isinstance(atoms.info, dict) else None
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def atoms_labels(images: list) -> list[str]:
    """One `frame_label` per frame."""
    return [frame_label(k, a.get_chemical_formula(mode="hill"), atoms_energy(a)) for k, a in enumerate(images)]


def check_not_periodic(atoms, name: str, k: int, fmt: str = "") -> None:
    """Refuse a periodic frame (periodic in some direction, with a non-zero cell), in one line."""
    pbc = np.asarray(atoms.pbc, dtype=bool)
    lengths = np.asarray(atoms.cell.lengths(), dtype=float)
    if fmt in _BOX_ONLY or not pbc.any() or not (lengths[pbc] > 0).any():
        return
    flags = " ".join("T" if p else "F" for p in pbc)
    cell = " × ".join(f"{v:.3g}" for v in lengths)
    raise MoleculeError(f"{name}: frame {k} is periodic (pbc {flags}, cell {cell} Å); the Coulomb matrix here "
                        "is for isolated molecules: remove the cell or cut out a molecule")


def molecule_from_atoms(atoms, name: str, source: str, title: str, k: int = 0, fmt: str = "") -> Molecule:
    """A `Molecule` from one ASE frame: refused if periodic, then the checks and bond perception of XYZ files."""
    check_not_periodic(atoms, name, k, fmt)
    charges = np.asarray(atoms.numbers, dtype=np.int64)
    coords = np.asarray(atoms.positions, dtype=np.float64)
    if charges.size == 0:
        raise MoleculeError(f"{name}: frame {k} has no atoms")
    try:
        _check_size(charges.size)
        if charges.min() < 1 or charges.max() > MAX_Z:
            raise MoleculeError("contains dummy atoms (X, atomic number 0), which have no nuclear charge"
                                if charges.min() < 1 else f"nuclear charge {int(charges.max())} is not an element")
        _check_coords(coords)
        _check_separation(charges, coords)
    except MoleculeError as exc:
        raise MoleculeError(f"{name}: {exc}") from None
    mol, with_orders = perceive_bonds(charges, coords)
    return _from_rdkit(mol, title, source, with_orders=with_orders)


def atoms_title(atoms, stem: str) -> str:
    """A frame's name: ``info['name']`` (or ``'title'``) when it has one, else the file's stem."""
    info = atoms.info if isinstance(atoms.info, dict) else {}
    for key in ("name", "title"):
        value = info.get(key)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())[:80]
    return stem

