"""QM9 loaders: the embedded copy from the ``qm9pack`` package (cached), and the original release.

The embedded CSVs are parsed once into a compact ``.npz`` in the user cache directory. The
cache carries a schema version and a fingerprint of its source files; a cache that is stale,
truncated or fails its CRC check is rebuilt, never trusted.
"""

from __future__ import annotations

import bz2
import importlib.util
import io
import json
import os
import re
import tarfile
import tempfile
import urllib.request
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..progress import ProgressCallback, report
from .dataset import SYMBOL_TO_Z, MolecularDataset, atomization_energy
from .errors import DataError

#: Bump when the cache layout or parsing changes: older caches are then rebuilt.
CACHE_SCHEMA = 1
QM9_SIZE = 130_831

_PARTS = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
_POLARIZABILITY = "qm9_polarizability.csv"

#: qm9pack column -> canonical property name (units in `dataset.PROPERTIES`).
_QM9PACK_COLUMNS = {
    "RotA_GHz": "A", "RotB_GHz": "B", "RotC_GHz": "C", "Dipole_debye": "mu",
    "Polarizability_bohr3": "alpha", "HOMO_au": "homo", "LUMO_au": "lumo",
    "HOMO_LUMO_gap_au": "gap", "R2_bohr2": "r2", "ZPVE_au": "zpve",
    "InternalEnergy_0K_au": "U0", "InternalEnergy_298K_au": "U", "Enthalphy_298K_au": "H",
    "GibbsFreeEnergy_298K_au": "G", "Heatcapacity_Cv_cal_mol_K": "Cv",
    "A_xx": "alpha_xx", "A_xy": "alpha_xy", "A_yy": "alpha_yy", "A_xz": "alpha_xz",
    "A_yz": "alpha_yz", "A_zz": "alpha_zz",
}
#: The order of the 15 numbers after "gdb N" on line 2 of an original QM9 xyz file.
_XYZ_PROPERTIES = ("A", "B", "C", "mu", "alpha", "homo", "lumo", "gap", "r2", "zpve",
                   "U0", "U", "H", "G", "Cv")


def qm9pack_data_dir() -> Path:
    """The folder of ``qm9pack``'s CSV files, found without importing the package."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("the qm9pack package is not installed: pip install qm9pack")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def default_cache_dir() -> Path:
    """``$WQML_CACHE_DIR`` if set, else the platform's user cache directory for wqml-dash."""
    env = os.environ.get("WQML_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir("wqml-dash"))


def _fingerprint(files: Iterable[Path]) -> list[list]:
    return [[f.name, f.stat().st_size, int(f.stat().st_mtime)] for f in files]


def _parse_number_lists(column, dtype=float) -> np.ndarray:
    """Flatten a column of strings like ``"[[1.0,2.0],[3.0,4.0]]"`` into one 1-d array."""
    text = ",".join(column).replace("[", "").replace("]", "").replace("'", "")
    return np.array(text.split(","), dtype=dtype)


def _parse_qm9pack(data_dir: Path, progress: ProgressCallback | None) -> MolecularDataset:
    import pandas as pd

    frames = []
    total = len(_PARTS) + 2
    for k, name in enumerate(_PARTS):
        report(progress, k, total, f"reading {name}")
        frames.append(pd.read_csv(
            data_dir / name,
            usecols=["XYZ_file", "Index", "SMILES", "N_atoms", "Elements", "XYZ_Ang",
                     *[c for c in _QM9PACK_COLUMNS if not c.startswith("A_")]]))
    report(progress, len(_PARTS), total, "reading polarizability tensors")
    df = pd.concat(frames, ignore_index=True)
    pol = pd.read_csv(data_dir / _POLARIZABILITY)
    df = df.merge(pol, on="XYZ_file", how="left", validate="one_to_one")
    df = df.sort_values("Index", kind="stable").reset_index(drop=True)

    report(progress, len(_PARTS) + 1, total, "parsing geometries")
    n_atoms = df["N_atoms"].to_numpy(np.int64)
    offsets = np.zeros(len(df) + 1, dtype=np.int64)
    np.cumsum(n_atoms, out=offsets[1:])
    symbols, inverse = np.unique(_parse_number_lists(df["Elements"], dtype=str), return_inverse=True)
    try:
        charges = np.array([SYMBOL_TO_Z[s.strip()] for s in symbols], dtype=np.int8)[inverse]
    except KeyError as exc:
        raise DataError(f"unknown element symbol {exc} in qm9pack data") from None
    coordinates = _parse_number_lists(df["XYZ_Ang"]).reshape(-1, 3)
    if charges.size != offsets[-1] or coordinates.shape[0] != offsets[-1]:
        raise DataError("qm9pack data: atom counts do not match the element and coordinate lists")

    properties = {name: df[col].to_numpy(np.float64) for col, name in _QM9PACK_COLUMNS.items()}
    properties["atomization_energy"] = atomization_energy(properties["U0"], charges, offsets)
    dataset = MolecularDataset(
        charges=charges, coordinates=coordinates, offsets=offsets,
        index=df["Index"].to_numpy(np.int64),
        smiles=df["SMILES"].to_numpy(str).astype("U"),
        properties=properties,
    )
    report(progress, total, total, "parsed")
    return dataset


def _save_cache(dataset: MolecularDataset, path: Path, meta: dict) -> None:
    """Write atomically: a temporary file in the same folder, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "charges": dataset.charges, "coordinates": dataset.coordinates,
        "offsets": dataset.offsets, "index": dataset.index, "smiles": dataset.smiles,
        "meta": np.array(json.dumps(meta)),
        **{f"property__{k}": v for k, v in dataset.properties.items()},
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_cache(path: Path, meta: dict) -> MolecularDataset | None:
    """The cached data set, or None when the file is absent, stale or damaged."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            if json.loads(str(z["meta"])) != meta:
                return None
            # Reading every member in full makes zipfile verify its CRC-32.
            arrays = {k: z[k] for k in z.files}
        properties = {k.removeprefix("property__"): v for k, v in arrays.items()
                      if k.startswith("property__")}
        return MolecularDataset(
            charges=arrays["charges"], coordinates=arrays["coordinates"],
            offsets=arrays["offsets"], index=arrays["index"], smiles=arrays["smiles"],
            properties=properties)
    except Exception:  # any damage at all means: rebuild
        return None


def cache_path(cache_dir: Path | None = None) -> Path:
    return Path(cache_dir or default_cache_dir()) / f"qm9-v{CACHE_SCHEMA}.npz"


_MEMORY: dict[Path, MolecularDataset] = {}


def load_qm9(progress: ProgressCallback | None = None, *, cache_dir: Path | None = None,
             rebuild: bool = False) -> MolecularDataset:
    """All 130,831 QM9 molecules from ``qm9pack``, sorted by QM9 index.

    The first call parses the CSVs (a few seconds) and caches them; later calls in the same
    process return the same object, later processes load the cache (well under a second).

    Parameters
    ----------
    progress : optional ``progress(done, total, message)`` while parsing
    cache_dir : where to keep the cache (default `default_cache_dir`)
    rebuild : ignore any existing cache

    Returns
    -------
    MolecularDataset with properties in the units of `dataset.PROPERTIES`, including
    ``atomization_energy`` in kcal/mol.
    """
    path = cache_path(cache_dir)
    if not rebuild and path in _MEMORY:
        return _MEMORY[path]
    data_dir = qm9pack_data_dir()
    meta = {"schema": CACHE_SCHEMA,
            "sources": _fingerprint(data_dir / n for n in (*_PARTS, _POLARIZABILITY))}
    dataset = None if rebuild else _load_cache(path, meta)
    if dataset is None:
        dataset = _parse_qm9pack(data_dir, progress)
        try:
            _save_cache(dataset, path, meta)
        except OSError:
            pass  # a read-only cache folder costs speed on the next start, not correctness
    else:
        report(progress, 1, 1, "loaded from cache")
    _MEMORY[path] = dataset
    return dataset


# --- The original QM9 release (dsgdb9nsd.xyz.tar.bz2) ------------------------------------

def _float(token: str) -> float:
    # The release writes some exponents in Mathematica form: 1.2*^-6.
    return float(token.replace("*^", "e"))


def parse_qm9_xyz(text: str) -> dict:
    """Parse one xyz file of the original QM9 release.

    Returns
    -------
    dict with ``index`` (int), ``charges`` (n,) int8, ``coordinates`` (n, 3) Angstrom,
    ``smiles`` (str, the B3LYP-relaxed SMILES), ``properties`` (dict of 15 floats).
    """
    lines = text.strip("\n").splitlines()
    try:
        n = int(lines[0])
        head = lines[1].split()
        if head[0] != "gdb" or len(head) < 17:
            raise ValueError("line 2 is not a QM9 property line")
        props = {k: _float(v) for k, v in zip(_XYZ_PROPERTIES, head[2:17], strict=False)}
        atoms = [line.split() for line in lines[2:2 + n]]
        charges = np.array([SYMBOL_TO_Z[a[0]] for a in atoms], dtype=np.int8)
        coords = np.array([[_float(t) for t in a[1:4]] for a in atoms], dtype=np.float64)
        smiles = lines[3 + n].split()
        smiles = smiles[1] if len(smiles) > 1 else smiles[0]
    except (IndexError, ValueError, KeyError) as exc:
        raise DataError(f"not a QM9 xyz file: {exc}") from None
    if coords.shape != (n, 3):
        raise DataError(f"not a QM9 xyz file: expected {n} atoms, found {coords.shape[0]}")
    return {"index": int(head[1]), "charges": charges, "coordinates": coords,
            "smiles": smiles, "properties": props}


def read_index_list(path: str | os.PathLike) -> list[int]:
    """QM9 indices from a text file such as the release's ``uncharacterized.txt``.

    Every line whose first field is an integer contributes that integer; headers, comments
    and other lines are skipped.
    """
    indices = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            fields = line.split()
            if fields and fields[0].isdigit():
                indices.append(int(fields[0]))
    if not indices:
        raise DataError(f"{path}: no molecule indices found")
    return indices


def _open_source(source: str | os.PathLike) -> io.BufferedIOBase:
    text = str(source)
    if re.match(r"^(https?|ftp)://", text):
        return io.BytesIO(urllib.request.urlopen(text, timeout=60).read())  # noqa: S310 (user's URL)
    return open(source, "rb")


def load_qm9_release(source: str | os.PathLike, *, exclude: Iterable[int] = (),
                     progress: ProgressCallback | None = None) -> MolecularDataset:
    """QM9 from the original release: a tar archive (plain, gz or bz2) of ``*.xyz`` files.

    Parameters
    ----------
    source : path or http(s) URL of ``dsgdb9nsd.xyz.tar.bz2`` (or a smaller archive of the
        same form)
    exclude : QM9 indices to leave out, e.g. the 3,054 molecules of the release's
        ``uncharacterized.txt``
    progress : optional ``progress(done, total, message)``

    Returns
    -------
    MolecularDataset sorted by QM9 index, properties named as in `dataset.PROPERTIES`
    (the polarizability tensor is not part of the release).
    """
    skip = set(int(i) for i in exclude)
    records = []
    with _open_source(source) as raw:
        data = raw.read()
    if data[:3] == b"BZh":
        data = bz2.decompress(data)
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")
    except tarfile.TarError:
        raise DataError(f"{source}: not a tar archive (gzip, bzip2, xz or plain) of QM9 xyz files") from None
    with tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".xyz")]
        if not members:
            raise DataError(f"{source}: no .xyz files in the archive")
        for k, member in enumerate(members):
            fh = tar.extractfile(member)
            record = parse_qm9_xyz(fh.read().decode("utf-8", errors="replace"))
            if record["index"] not in skip:
                records.append(record)
            if k % 1000 == 0:
                report(progress, k, len(members), "parsing xyz files")
    records.sort(key=lambda r: r["index"])
    counts = np.array([r["charges"].size for r in records], dtype=np.int64)
    offsets = np.zeros(len(records) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    charges = np.concatenate([r["charges"] for r in records])
    properties = {k: np.array([r["properties"][k] for r in records]) for k in _XYZ_PROPERTIES}
    properties["atomization_energy"] = atomization_energy(properties["U0"], charges, offsets)
    report(progress, len(members), len(members), "parsed")
    return MolecularDataset(
        charges=charges,
        coordinates=np.concatenate([r["coordinates"] for r in records]),
        offsets=offsets,
        index=np.array([r["index"] for r in records], dtype=np.int64),
        smiles=np.array([r["smiles"] for r in records]).astype("U"),
        properties=properties)
