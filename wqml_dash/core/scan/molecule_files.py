"""Molecules from files, as uploaded to the explorer or given to ``wqml scan --file``.

XYZ (one frame or several), SDF/MOL (one record or several) and PDB are read with RDKit; every
other format ASE reads goes to `ase_files` (extended XYZ, .traj, .db, program outputs, ...).
`frames_in_file` labels the frames of a file, ``molecule_from_file(..., frame=k)`` chooses one.
Files are read from bytes (nothing is written to disk but an ASE SQLite database's private,
at once deleted copy), refused over `MAX_FILE_BYTES`, and every failure is one line naming the
file. The RDKit helpers are `molecule`'s (package-private).
"""

from __future__ import annotations

import re

import numpy as np

from .ase_files import ASE_EXTENSIONS, frame_index
from .molecule import (MAX_FILE_BYTES, MAX_Z, Molecule, MoleculeError, _check_coords, _check_separation, _check_size,
                       _embed, _first_line, _from_rdkit, _sanitize, perceive_bonds)


_READERS = {".xyz": "xyz", ".sdf": "sdf", ".mol": "sdf", ".sd": "sdf", ".pdb": "pdb", ".ent": "pdb"}


def check_file_size(filename: str, size: int) -> None:
    """Raise `MoleculeError` for a file of ``size`` bytes over `MAX_FILE_BYTES`."""
    if size > MAX_FILE_BYTES:
        raise MoleculeError(f"{filename}: the file has {size:,} bytes; at most {MAX_FILE_BYTES:,} bytes "
                            f"({MAX_FILE_BYTES / 2**20:g} MiB) are read; a molecule the explorer shows takes a few kB")


def molecule_from_file(data: bytes, filename: str, frame: int = 0) -> Molecule:
    """A molecule from the bytes of a file: XYZ, SDF/MOL, PDB (RDKit) or any format in `ASE_FORMATS` (ASE).

    The extension decides the format. XYZ: bonds and bond orders perceived from the geometry. SDF:
    record ``frame``. Missing hydrogens (SDF, PDB) are added with coordinates; a 2D SDF is embedded in
    3D (seed 0). Formats ASE reads (extended XYZ, .traj, .db, .json, program outputs, ...): frame
    ``frame``, bonds perceived as for XYZ; periodic frames are refused. A file of several frames
    (a multi-frame .xyz, a trajectory, a multi-record SDF) gives frame ``frame`` (0-based; negative
    counts from the end); `frames_in_file` lists them. Files over `MAX_FILE_BYTES` are refused
    before decoding. Read in memory, except ASE's SQLite databases (see `ase_files`).
    """
    name, ext = _name_and_extension(filename)
    kind = _READERS.get(ext)
    fmt = None if kind is not None else _ase_format_or_refuse(name, ext, data)
    data = _checked_bytes(data, name)
    if fmt is not None:
        return _from_ase(data, name, fmt, frame)
    text = _text(data, name, ext)
    if kind == "xyz":
        blocks = _xyz_blocks(text)
        count = max(len(blocks), 1)
        k = frame_index(frame, count, name)
        if blocks and _EXTXYZ.search(blocks[k][0]):  # extended XYZ written as .xyz: ASE reads its key=value pairs
            return _from_ase(blocks[k][1], name, "extxyz", 0, frames=count, index=k)
        return _read_guarded(text if count == 1 else blocks[k][1], name, kind, k, count)
    if kind == "sdf":
        records = _sdf_records(text)
        k = frame_index(frame, max(len(records), 1), name)
        return _read_guarded(text if len(records) <= 1 else records[k], name, kind, k, len(records))
    frame_index(frame, 1, name)
    return _read_guarded(text, name, kind, 0, 1)


def frames_in_file(data: bytes, filename: str) -> list[str]:
    """One short label per frame of a file (``'2: C2H6O, E = -3.1 eV'``); a one-frame file gives one label.

    Cheap for XYZ and SDF (the text is scanned, no chemistry); formats ASE reads are parsed once.
    Refuses what `molecule_from_file` refuses before parsing (extension, size, not text); a file
    whose content is broken gets its message from `molecule_from_file`.
    """
    name, ext = _name_and_extension(filename)
    kind = _READERS.get(ext)
    fmt = None if kind is not None else _ase_format_or_refuse(name, ext, data)
    data = _checked_bytes(data, name)
    if fmt is not None:
        from .ase_files import atoms_labels, read_ase_frames

        return atoms_labels(read_ase_frames(data, name, fmt))
    text = _text(data, name, ext)
    if kind == "xyz":
        return [_xyz_label(k, comment, symbols) for k, (comment, _, symbols) in enumerate(_xyz_blocks(text))] or ["0"]
    if kind == "sdf":
        return [_sdf_label(k, record) for k, record in enumerate(_sdf_records(text))] or ["0"]
    return ["0: PDB"]


def _name_and_extension(filename) -> tuple[str, str]:
    from pathlib import PurePath

    name = PurePath(str(filename or "").replace("\\", "/")).name
    return name, PurePath(name.lower()).suffix


def _ase_format_or_refuse(name: str, ext: str, data) -> str:
    """The ASE format of a file RDKit does not read, or the one-line "unknown extension" refusal."""
    from .ase_files import ase_format

    if ext in (".gz", ".bz2", ".xz", ".zip"):
        raise MoleculeError(f"cannot read {name!r}: a compressed file ({ext}); decompress it first")
    head = data[:50_000] if isinstance(data, bytes | bytearray | str) else b""
    fmt = ase_format(name, ext, head) if name else None
    if fmt is None:
        raise MoleculeError(f"cannot read {name or 'the file'!r}: unknown extension {ext or '(none)'!r}; use "
                            f"{', '.join(sorted(set(_READERS)))} or a format ASE reads "
                            f"({', '.join(ASE_EXTENSIONS[:10])}, POSCAR, ...)")
    return fmt


def _checked_bytes(data, name: str) -> bytes | str:
    if isinstance(data, memoryview):
        data = data.tobytes()
    if not isinstance(data, bytes | bytearray | str):
        raise MoleculeError(f"{name}: expected the file's bytes, got {type(data).__name__}")
    check_file_size(name, len(data.encode("utf-8")) if isinstance(data, str) else len(data))
    return data


def _text(data, name: str, ext: str) -> str:
    try:
        text = data if isinstance(data, str) else bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise MoleculeError(f"{name}: not a text file (an {ext} file is plain text)") from None
    if "\x00" in text:
        raise MoleculeError(f"{name}: not a text file (it contains NUL bytes)")
    if not text.strip():
        raise MoleculeError(f"{name}: the file is empty")
    return text


def _from_ase(data, name: str, fmt: str, frame: int, frames: int | None = None, index: int | None = None):
    """Frame ``frame`` of a file ASE reads (or, ``index`` given, the one frame in ``data`` is that frame of
    ``frames`` in the file: an extended-XYZ block of a multi-frame .xyz)."""
    from pathlib import PurePath

    from .ase_files import atoms_title, molecule_from_atoms, read_ase_frames

    images = read_ase_frames(data, name, fmt)
    count = frames if index is not None else len(images)
    k = index if index is not None else frame_index(frame, count, name)
    atoms = images[0] if index is not None else images[k]
    stem = PurePath(name).stem or name
    title = atoms_title(atoms, stem)
    if count > 1:
        title += f" (frame {k})"
    return molecule_from_atoms(atoms, name, f"file:{name}" + (f"@{k}" if count > 1 else ""), title, k, fmt)


def _read_guarded(text: str, name: str, kind: str, k: int = 0, count: int = 1) -> Molecule:
    """`_read_text`, RDKit's failures as one line, and a hint when the content looks like another format."""
    try:
        try:
            mol = _read_text(text, name, kind)
        except RuntimeError as exc:  # an RDKit invariant violation on content it accepted: still the file's fault
            raise MoleculeError(f"{name}: RDKit cannot make a molecule of it ({_first_line(exc)})") from None
    except MoleculeError as exc:
        message = str(exc) if str(exc).startswith(f"{name}:") else f"{name}: {exc}"
        if count > 1:
            message = message.replace(f"{name}:", f"{name}: frame {k}:", 1)
        guess = _guess_format(text)
        if guess is not None and guess != kind:
            message += f"; the content looks like {_FORMAT_NAMES[guess]}: check the file's extension"
        raise MoleculeError(message) from None
    if count > 1:  # an SDF's records are molecules with their own names; an XYZ's frames are steps of one
        title = mol.name if kind == "sdf" else f"{mol.name} (frame {k})"
        return Molecule(mol.charges, mol.coords, mol.bonds, title, mol.smiles, f"{mol.source}@{k}", mol.molblock)
    return mol


#: An extended-XYZ comment line (ASE's key=value pairs): such frames are read by ASE.
_EXTXYZ = re.compile(r"(?:^|\s)(?:Properties|Lattice|pbc)=", re.IGNORECASE)


def _xyz_blocks(text: str) -> list[tuple[str, str, list[str]]]:
    """The frames of a (multi-frame) XYZ file: (comment line, block text, element symbols) each.

    Frames follow each other as long as each starts with a whole atom count and has its lines;
    whatever follows the last whole frame is ignored (blank lines, trailing notes).
    """
    lines = text.splitlines()
    blocks: list[tuple[str, str, list[str]]] = []
    i = 0
    while i < len(lines):
        head = lines[i].split()
        if not head:
            i += 1
            continue
        if not head[0].isascii() or not head[0].isdigit() or int(head[0]) <= 0:
            break
        n = int(head[0])
        if i + n + 2 > len(lines):
            break
        body = lines[i:i + n + 2]
        symbols = [(line.split() or ["?"])[0] for line in body[2:]]
        blocks.append((body[1], "\n".join(body) + "\n", symbols))
        i += n + 2
    return blocks


def _xyz_label(k: int, comment: str, symbols: list[str]) -> str:
    from .ase_files import frame_label

    energy = None
    if _EXTXYZ.search(comment):
        match = re.search(r"(?:^|\s)energy=(\S+)", comment)
        try:
            energy = float(match.group(1).strip("\"'")) if match else None
        except ValueError:
            energy = None
        comment = ""
    return frame_label(k, _formula(symbols), energy, comment)


def _formula(symbols: list[str]) -> str:
    """Hill formula of element symbols as a file writes them (``Molecule.formula``'s order)."""
    from rdkit import Chem

    table = Chem.GetPeriodicTable()
    names = []
    for s in symbols:
        try:
            names.append(table.GetElementSymbol(int(s)) if s.isdigit() else s.capitalize())
        except (RuntimeError, ValueError):
            names.append(s[:3])
    counts = {s: names.count(s) for s in set(names)}
    order = sorted(counts, key=lambda s: ({"C": 0, "H": 1}.get(s, 2) if "C" in counts else 2, s))
    return "".join(f"{s}{counts[s] if counts[s] > 1 else ''}" for s in order)


def _sdf_records(text: str) -> list[str]:
    """The records of an SDF file (between ``$$$$`` lines); blank trailing parts are not records."""
    records = re.split(r"^\$\$\$\$[^\n]*\n?", text, flags=re.M)
    return [r for r in records if r.strip()]


def _sdf_label(k: int, record: str) -> str:
    from .ase_files import frame_label

    lines = record.splitlines()
    title = lines[0].strip() if lines else ""
    atoms = lines[3][:3].strip() if len(lines) > 3 else ""
    note = f"{atoms} atoms" if atoms.isdigit() else ""
    return frame_label(k, title or "record", None, note)


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
