"""Molecules from files: XYZ, SDF/MOL and PDB, as uploaded to the explorer or given to ``wqml scan --file``.

Files are read from bytes (nothing is written to disk), refused over `MAX_FILE_BYTES`, and every
failure is one line naming the file. The RDKit helpers are `molecule`'s (package-private).
"""

from __future__ import annotations

import re

import numpy as np

from .molecule import (MAX_FILE_BYTES, MAX_Z, Molecule, MoleculeError, _check_coords, _check_separation, _check_size,
                       _embed, _first_line, _from_rdkit, _sanitize, perceive_bonds)


_READERS = {".xyz": "xyz", ".sdf": "sdf", ".mol": "sdf", ".sd": "sdf", ".pdb": "pdb", ".ent": "pdb"}


def check_file_size(filename: str, size: int) -> None:
    """Raise `MoleculeError` for a file of ``size`` bytes over `MAX_FILE_BYTES`."""
    if size > MAX_FILE_BYTES:
        raise MoleculeError(f"{filename}: the file has {size:,} bytes; at most {MAX_FILE_BYTES:,} bytes "
                            f"({MAX_FILE_BYTES / 2**20:g} MiB) are read; a molecule the explorer shows takes a few kB")


def molecule_from_file(data: bytes, filename: str) -> Molecule:
    """A molecule from the bytes of an XYZ, SDF/MOL or PDB file; format from the extension.

    XYZ: bonds and bond orders perceived from the geometry. SDF: the first record. Missing
    hydrogens (SDF, PDB) are added with coordinates; a 2D SDF is embedded in 3D (seed 0).
    Nothing is written to disk. Files over `MAX_FILE_BYTES` are refused before decoding.
    """
    from pathlib import PurePath

    name = PurePath(str(filename or "").replace("\\", "/")).name
    ext = PurePath(name.lower()).suffix
    kind = _READERS.get(ext)
    if kind is None:
        raise MoleculeError(f"cannot read {name or 'the file'!r}: unknown extension {ext or '(none)'!r}; "
                            f"use one of {sorted(set(_READERS))}")
    if isinstance(data, memoryview):
        data = data.tobytes()
    if not isinstance(data, bytes | bytearray | str):
        raise MoleculeError(f"{name}: expected the file's bytes, got {type(data).__name__}")
    check_file_size(name, len(data.encode("utf-8")) if isinstance(data, str) else len(data))
    try:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise MoleculeError(f"{name}: not a text file (an {ext} file is plain text)") from None
    if "\x00" in text:
        raise MoleculeError(f"{name}: not a text file (it contains NUL bytes)")
    if not text.strip():
        raise MoleculeError(f"{name}: the file is empty")
    try:
        try:
            return _read_text(text, name, kind)
        except RuntimeError as exc:  # an RDKit invariant violation on content it accepted: still the file's fault
            raise MoleculeError(f"{name}: RDKit cannot make a molecule of it ({_first_line(exc)})") from None
    except MoleculeError as exc:
        message = str(exc) if str(exc).startswith(f"{name}:") else f"{name}: {exc}"
        guess = _guess_format(text)
        if guess is not None and guess != kind:
            message += f"; the content looks like {_FORMAT_NAMES[guess]}: check the file's extension"
        raise MoleculeError(message) from None


_FORMAT_NAMES = {"xyz": "an XYZ file", "sdf": "an SDF/MOL file", "pdb": "a PDB file"}


def _guess_format(text: str) -> str | None:
    """What a file's text looks like ('xyz', 'sdf', 'pdb'), for messages about mislabelled files."""
    lines = text.splitlines()
    if "M  END" in text or "V2000" in text or "V3000" in text:
        return "sdf"
    if any(line.startswith(("ATOM  ", "HETATM")) for line in lines[:2000]):
        return "pdb"
    if lines and lines[0].strip().isdigit():
        return "xyz"
    return None


def _read_text(text: str, name: str, kind: str) -> Molecule:
    """The molecule of a file's text, ``kind`` one of 'xyz', 'sdf', 'pdb'."""
    from pathlib import PurePath

    from rdkit import Chem, RDLogger

    source = f"file:{name}"
    stem = PurePath(name).stem or name
    RDLogger.DisableLog("rdApp.*")
    try:
        if kind == "xyz":
            charges, coords, comment = _parse_xyz(text, name)
            mol, with_orders = perceive_bonds(charges, coords)
            return _from_rdkit(mol, comment or stem, source, with_orders=with_orders)
        if kind == "sdf":
            block = text.split("$$$$")[0]
            mol = Chem.MolFromMolBlock(block, removeHs=False, sanitize=False)
            if mol is None:
                raise MoleculeError(f"{name}: not a valid MOL/SDF record")
            title = mol.GetProp("_Name").strip() if mol.HasProp("_Name") else ""
        else:
            mol = Chem.MolFromPDBBlock(text, removeHs=False, sanitize=False)
            if mol is None or mol.GetNumAtoms() == 0:
                raise MoleculeError(f"{name}: no atoms found in the PDB file")
            title = ""
        _sanitize(mol, name)
        if mol.GetNumAtoms() == 0:
            raise MoleculeError(f"{name}: no atoms in the file")
        _check_size(mol.GetNumAtoms())
        conf = mol.GetConformer() if mol.GetNumConformers() else None
        flat = conf is None or (not conf.Is3D() and np.allclose(conf.GetPositions()[:, 2], 0.0))
        if flat:
            mol = Chem.AddHs(mol)
            _check_size(mol.GetNumAtoms())
            _embed(mol, 0, name)
        else:
            _check_file_geometry(mol, name)  # before hydrogens are placed from it
            if any(a.GetTotalNumHs() > 0 for a in mol.GetAtoms()):
                try:
                    mol = Chem.AddHs(mol, addCoords=True)
                except RuntimeError as exc:
                    raise MoleculeError(f"{name}: hydrogens cannot be placed ({_first_line(exc)})") from None
        return _from_rdkit(mol, title or stem, source)
    finally:
        RDLogger.EnableLog("rdApp.*")


def _check_file_geometry(mol, name: str) -> None:
    """Coordinates of a file's molecule: finite, not absurd, no two atoms on one spot."""
    charges = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.int64)
    try:
        _check_coords(mol.GetConformer().GetPositions())
        _check_separation(charges, mol.GetConformer().GetPositions())
    except MoleculeError as exc:
        raise MoleculeError(f"{name}: {exc}") from None


def _parse_xyz(text: str, name: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(charges (n,), coords (n, 3) Angstrom, comment) of the first frame of an XYZ file."""
    from rdkit import Chem

    lines = text.splitlines()
    try:
        n = int(lines[0].split()[0])
    except (IndexError, ValueError):
        raise MoleculeError(f"{name}: an XYZ file starts with the number of atoms") from None
    if n <= 0 or len(lines) < n + 2:
        raise MoleculeError(f"{name}: says {n} atoms but has {max(len(lines) - 2, 0)} atom lines")
    _check_size(n)
    table = Chem.GetPeriodicTable()
    charges, coords = [], []
    for k, line in enumerate(lines[2:n + 2], start=3):
        parts = line.split()
        try:
            symbol = parts[0]
            z = int(symbol) if re.fullmatch(r"[0-9]+", symbol) else table.GetAtomicNumber(symbol.capitalize())
            xyz = [float(v) for v in parts[1:4]]
        except (IndexError, ValueError, RuntimeError):
            raise MoleculeError(f"{name}: line {k} is not 'element x y z': {line.strip()[:80]!r}") from None
        if len(xyz) != 3 or not np.isfinite(xyz).all():
            raise MoleculeError(f"{name}: line {k} is not 'element x y z' with finite numbers: {line.strip()[:80]!r}")
        if not 1 <= z <= MAX_Z:
            raise MoleculeError(f"{name}: line {k}: {symbol[:10]!r} is not an element")
        charges.append(z)
        coords.append(xyz)
    charges, coords = np.array(charges, dtype=np.int64), np.array(coords)
    try:
        _check_coords(coords)
        _check_separation(charges, coords)
    except MoleculeError as exc:
        raise MoleculeError(f"{name}: {exc}") from None
    return charges, coords, lines[1].strip()
