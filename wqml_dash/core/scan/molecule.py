"""Single molecules for the displacement explorer: `Molecule`, from QM9 or SMILES (files: `molecule_files`;
teaching examples: `examples`).

Every `Molecule` has explicit hydrogens, 3D coordinates in Angstrom and its bonds (perceived
from the geometry for XYZ input). RDKit does the chemistry; this module only turns its
results into plain arrays and turns its failures into one-line `MoleculeError` messages.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass, field

import numpy as np

#: Molecules larger than this are refused: the scan's Coulomb matrices grow as n^2.
MAX_ATOMS = 300
#: Uploaded files larger than this (bytes) are refused before they are decoded or parsed. A
#: 300-atom XYZ file takes about 20 kB, an SDF of the same about 40 kB: 1 MiB leaves room for
#: comments and extra records.
MAX_FILE_BYTES = 1 << 20
#: Two atoms closer than this (Angstrom) are taken as one atom given twice: the molecule is refused.
MIN_SEPARATION = 0.01
#: Coordinates beyond this magnitude (Angstrom; a micrometre) cannot belong to a molecule: refused.
MAX_COORDINATE = 1e4
#: Largest nuclear charge with an element (oganesson).
MAX_Z = 118
#: Seconds RDKit may spend on one 3D embedding attempt before the molecule is refused.
EMBED_TIMEOUT = 30


class MoleculeError(ValueError):
    """A molecule the user asked for cannot be made: bad SMILES, bad file, unknown index, ..."""


@dataclass(frozen=True, eq=False)
class Molecule:
    """One molecule with explicit hydrogens.

    Attributes
    ----------
    charges : (n,) int64 nuclear charges
    coords : (n, 3) float64, Angstrom
    bonds : (m, 2) int64 atom index pairs, i < j, sorted; may be (0, 2)
    name : human-readable name, e.g. ``"ethanol"`` or ``"QM9 #1234 C2H6O"``
    smiles : canonical SMILES (with RDKit's perception), or None when unknown
    source : where it came from: ``"qm9:1234"``, ``"smiles"``, ``"file:name.xyz"``, ``"example:key"``
    molblock : MDL molfile of the same atoms, bonds and bond orders (what the force-field
        references need), or None when bond orders could not be assigned
    """

    charges: np.ndarray
    coords: np.ndarray
    bonds: np.ndarray
    name: str
    smiles: str | None
    source: str
    molblock: str | None = field(default=None, repr=False)

    def __post_init__(self):
        try:
            raw = np.asarray(self.charges)
            charges = raw.astype(np.int64).reshape(-1)
            coords = np.asarray(self.coords, dtype=np.float64)
            bonds = np.asarray(self.bonds, dtype=np.int64).reshape(-1, 2)
        except (TypeError, ValueError, OverflowError):
            raise MoleculeError("charges, coordinates and bonds must be arrays of numbers") from None
        if coords.shape != (charges.size, 3):
            raise MoleculeError(f"coordinates must have shape ({charges.size}, 3), got {coords.shape}")
        if charges.size == 0:
            raise MoleculeError("the molecule has no atoms")
        _check_size(charges.size)
        if raw.dtype.kind not in "iub" and not np.array_equal(raw.reshape(-1), charges):
            raise MoleculeError("nuclear charges must be whole numbers")
        if charges.min() < 1 or charges.max() > MAX_Z:
            bad = int(charges[(charges < 1) | (charges > MAX_Z)][0])
            raise MoleculeError(f"nuclear charge {bad} is not an element (1 to {MAX_Z})")
        _check_coords(coords)
        if bonds.size and (bonds.min() < 0 or bonds.max() >= charges.size):
            raise MoleculeError("a bond refers to an atom that does not exist")
        if bonds.size and (bonds[:, 0] == bonds[:, 1]).any():
            raise MoleculeError("a bond joins an atom to itself")
        _check_separation(charges, coords)
        bonds = np.sort(bonds, axis=1)
        bonds = bonds[np.lexsort((bonds[:, 1], bonds[:, 0]))]
        for name, value in (("charges", charges), ("coords", coords), ("bonds", bonds)):
            value.setflags(write=False)
            object.__setattr__(self, name, value)

    @property
    def symbols(self) -> list[str]:
        """Element symbols, one per atom."""
        from rdkit import Chem

        table = Chem.GetPeriodicTable()
        return [table.GetElementSymbol(int(z)) for z in self.charges]

    @property
    def formula(self) -> str:
        """Hill formula, e.g. ``C2H6O``."""
        symbols = self.symbols
        counts = {s: symbols.count(s) for s in set(symbols)}
        order = sorted(counts, key=lambda s: ({"C": 0, "H": 1}.get(s, 2) if "C" in counts else 2, s))
        return "".join(f"{s}{counts[s] if counts[s] > 1 else ''}" for s in order)

    def __len__(self) -> int:
        return int(self.charges.size)

    def to_rdkit(self, coords: np.ndarray | None = None):
        """An RDKit ``Mol`` (hydrogens explicit) with one conformer at ``coords`` (default: own).

        Uses the bond orders of `molblock`; without one, single bonds between bonded atoms
        (enough for drawing, not for force fields).
        """
        from rdkit import Chem
        from rdkit.Geometry import Point3D

        if self.molblock is not None:
            mol = Chem.MolFromMolBlock(self.molblock, removeHs=False, sanitize=True)
        else:
            rw = Chem.RWMol()
            for z in self.charges:
                rw.AddAtom(Chem.Atom(int(z)))
            for i, j in self.bonds:
                rw.AddBond(int(i), int(j), Chem.BondType.SINGLE)
            mol = rw.GetMol()
            mol.UpdatePropertyCache(strict=False)
            mol.AddConformer(Chem.Conformer(len(self)), assignId=True)
        xyz = self.coords if coords is None else np.asarray(coords, dtype=np.float64)
        conf = mol.GetConformer()
        for i, (x, y, z) in enumerate(xyz):
            conf.SetAtomPosition(i, Point3D(float(x), float(y), float(z)))
        return mol

    def to_ase(self, coords: np.ndarray | None = None):
        """An ``ase.Atoms`` of the molecule at ``coords`` (default: own), Angstrom, no cell, not periodic.

        ``info`` carries ``name``, ``source`` and (when known) ``smiles``; `molecule_files.molecule_from_file`
        reads such atoms back (written as extended XYZ, .traj, an ASE database, ...).
        """
        from ase import Atoms

        xyz = self.coords if coords is None else np.asarray(coords, dtype=np.float64)
        info = {"name": self.name, "source": self.source}
        if self.smiles:
            info["smiles"] = self.smiles
        return Atoms(numbers=np.array(self.charges), positions=np.array(xyz), info=info)

    def bonded_partners(self, atom: int) -> list[int]:
        """The atoms bonded to ``atom``, ascending."""
        return sorted({int(j) for i, j in self.bonds if i == atom} | {int(i) for i, j in self.bonds if j == atom})

    def default_partner(self, atom: int) -> int | None:
        """For a scan along a bond: the lowest-numbered atom bonded to ``atom`` (else the lowest other
        atom; None for a single atom)."""
        bonded = self.bonded_partners(atom)
        others = [j for j in range(len(self)) if j != atom]
        return bonded[0] if bonded else (others[0] if others else None)

    def to_xyz(self, comment: str | None = None) -> str:
        """The molecule as an XYZ file (text)."""
        lines = [str(len(self)), comment if comment is not None else self.name]
        lines += [f"{s:<2} {x:14.8f} {y:14.8f} {z:14.8f}"
                  for s, (x, y, z) in zip(self.symbols, self.coords, strict=True)]
        return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------
# RDKit helpers


def _check_size(n: int) -> None:
    if n > MAX_ATOMS:
        raise MoleculeError(f"the molecule has {n} atoms; the explorer handles at most {MAX_ATOMS}")


def _check_coords(coords: np.ndarray) -> None:
    """Refuse coordinates that are NaN, infinite or beyond `MAX_COORDINATE`."""
    bad = ~(np.isfinite(coords) & (np.abs(coords) <= MAX_COORDINATE)).all(axis=1)
    if bad.any():
        atom = int(np.flatnonzero(bad)[0])
        what = "that is not a finite number" if not np.isfinite(coords[atom]).all() else f"beyond ±{MAX_COORDINATE:g} Å"
        raise MoleculeError(f"atom {atom} has a coordinate {what}")


def _check_separation(charges: np.ndarray, coords: np.ndarray) -> None:
    """Refuse two atoms on one spot (closer than `MIN_SEPARATION`), naming them."""
    if charges.size < 2:
        return
    from scipy.spatial import cKDTree

    pairs = cKDTree(coords).query_pairs(MIN_SEPARATION, output_type="ndarray")
    if len(pairs):
        i, j = sorted(int(v) for v in pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))][0])
        r = float(np.linalg.norm(coords[i] - coords[j]))
        raise MoleculeError(f"atoms {i} ({_symbol(charges[i])}) and {j} ({_symbol(charges[j])}) are at the same "
                            f"position ({r:.3f} Å apart); remove the duplicate")


def _symbol(z) -> str:
    from rdkit import Chem

    return Chem.GetPeriodicTable().GetElementSymbol(int(z))


def _from_rdkit(mol, name: str, source: str, smiles: str | None = None, with_orders: bool = True) -> Molecule:
    """Arrays from an RDKit Mol that has explicit hydrogens and a 3D conformer."""
    from rdkit import Chem

    if mol.GetNumConformers() == 0:
        raise MoleculeError(f"{name}: no coordinates")
    _check_size(mol.GetNumAtoms())
    charges = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.int64)
    if (charges <= 0).any():
        raise MoleculeError(f"{name}: contains dummy atoms ('*'), which have no nuclear charge")
    coords = np.array(mol.GetConformer().GetPositions(), dtype=np.float64)
    bonds = np.array([sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx())) for b in mol.GetBonds()],
                     dtype=np.int64).reshape(-1, 2)
    if smiles is None and with_orders:
        try:
            smiles = Chem.MolToSmiles(Chem.RemoveHs(mol))
        except Exception:  # noqa: BLE001 - a SMILES is a nicety, the molecule is still usable
            smiles = None
    molblock = Chem.MolToMolBlock(mol) if with_orders else None
    return Molecule(charges, coords, bonds, name, smiles, source, molblock)


def _sanitize(mol, what: str):
    from rdkit import Chem

    try:
        Chem.SanitizeMol(mol)
    except Exception as exc:  # noqa: BLE001 - RDKit raises several unrelated classes
        raise MoleculeError(f"{what}: {_first_line(exc)}") from None
    return mol


def _first_line(exc: BaseException) -> str:
    """The message of an exception in one line; RDKit's failed internal checks by what failed."""
    text = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not text:
        return type(exc).__name__
    if text[0].endswith(("-condition Violation", "Invariant Violation")) and len(text) > 1:
        return f"RDKit's consistency check failed: {text[1]}"
    return text[0]


def _embed(mol, seed: int, what: str):
    """3D coordinates for a molecule with explicit Hs: ETKDG (seeded) then MMFF94 (or UFF)."""
    from rdkit.Chem import AllChem

    params = AllChem.ETKDGv3()
    params.randomSeed = int(seed)
    params.timeout = EMBED_TIMEOUT
    _check_no_dummies(mol, what)
    try:
        if AllChem.EmbedMolecule(mol, params) != 0:
            params.useRandomCoords = True
            if AllChem.EmbedMolecule(mol, params) != 0:
                raise MoleculeError(f"{what}: RDKit could not generate 3D coordinates")
        if AllChem.MMFFHasAllMoleculeParams(mol):
            AllChem.MMFFOptimizeMolecule(mol, maxIters=2000)
        elif AllChem.UFFHasAllMoleculeParams(mol):
            AllChem.UFFOptimizeMolecule(mol, maxIters=2000)
    except RuntimeError as exc:  # RDKit's invariant violations: the geometry cannot be built
        raise MoleculeError(f"{what}: RDKit could not generate 3D coordinates ({_first_line(exc)})") from None
    return mol


def _check_no_dummies(mol, what: str) -> None:
    if any(a.GetAtomicNum() <= 0 for a in mol.GetAtoms()):
        raise MoleculeError(f"{what}: contains dummy atoms ('*'), which have no nuclear charge")


def perceive_bonds(charges: np.ndarray, coords: np.ndarray, charge: int = 0):
    """An RDKit Mol with bonds perceived from a geometry (``rdDetermineBonds``).

    Bond orders are assigned for a neutral molecule when possible (xyz2mol); otherwise only
    the connectivity (single bonds) is kept.

    Returns
    -------
    (mol, with_orders) : the RDKit Mol and whether bond orders could be assigned
    """
    from rdkit import Chem
    from rdkit.Chem import rdDetermineBonds
    from rdkit.Geometry import Point3D

    rw = Chem.RWMol()
    conf = Chem.Conformer(len(charges))
    for i, (z, xyz) in enumerate(zip(charges, coords, strict=False)):
        rw.AddAtom(Chem.Atom(int(z)))
        conf.SetAtomPosition(i, Point3D(*map(float, xyz)))
    rw.AddConformer(conf, assignId=True)
    mol = rw.GetMol()
    try:
        ordered = Chem.Mol(mol)
        rdDetermineBonds.DetermineBonds(ordered, charge=charge)
        Chem.SanitizeMol(ordered)
        return ordered, True
    except Exception:  # noqa: BLE001 - fall back to connectivity only
        connected = Chem.Mol(mol)
        rdDetermineBonds.DetermineConnectivity(connected)
        connected.UpdatePropertyCache(strict=False)
        return connected, False


# ----------------------------------------------------------------------------------------
# Sources


def molecule_from_smiles(smiles: str, seed: int = 0, name: str | None = None) -> Molecule:
    """A molecule from SMILES: hydrogens added, ETKDG embedding (seeded), MMFF94 optimisation.

    UFF is used where MMFF94 has no parameters. Raises `MoleculeError` for unparsable SMILES.
    """
    from rdkit import Chem, RDLogger

    text = (smiles or "").strip()
    if not text:
        raise MoleculeError("empty SMILES")
    RDLogger.DisableLog("rdApp.*")
    try:
        mol = Chem.MolFromSmiles(text)
    finally:
        RDLogger.EnableLog("rdApp.*")
    if mol is None:
        raise MoleculeError(f"RDKit cannot parse the SMILES {text!r}")
    canonical = Chem.MolToSmiles(mol)
    mol = Chem.AddHs(mol)
    _check_size(mol.GetNumAtoms())
    _embed(mol, seed, f"SMILES {text!r}")
    charges = np.array([a.GetAtomicNum() for a in mol.GetAtoms()], dtype=np.int64)
    try:
        _check_separation(charges, mol.GetConformer().GetPositions())
    except MoleculeError as exc:  # ETKDG stacks disconnected single atoms such as [Na+].[Cl-] on one spot
        hint = "; its disconnected parts ('.') are not placed apart" if len(Chem.GetMolFrags(mol)) > 1 else ""
        raise MoleculeError(f"SMILES {text!r} has no usable 3D geometry: {str(exc).split(';')[0]}{hint}") from None
    return _from_rdkit(mol, name or canonical, "smiles", smiles=canonical)


def _qm9_row(dataset, qm9_index: int) -> int:
    rows = np.flatnonzero(np.asarray(dataset.index) == int(qm9_index))
    if rows.size == 0:
        lo, hi = int(np.min(dataset.index)), int(np.max(dataset.index))
        raise MoleculeError(f"QM9 has no molecule #{qm9_index} (indices run from {lo} to {hi}; "
                            "molecules that failed QM9's consistency checks are left out)")
    return int(rows[0])


def molecule_from_qm9(dataset, qm9_index: int) -> Molecule:
    """Molecule ``qm9_index`` (QM9's own 1-based numbering, ``dataset.index``) with its B3LYP geometry.

    Bonds and bond orders are perceived from the geometry (``rdDetermineBonds``).
    """
    row = _qm9_row(dataset, qm9_index)
    charges, coords = dataset.molecule(row)
    name = f"QM9 #{int(qm9_index)} {dataset.formula(row)}"
    mol, with_orders = perceive_bonds(np.asarray(charges), np.asarray(coords))
    smiles = str(dataset.smiles[row])
    return _from_rdkit(mol, name, f"qm9:{int(qm9_index)}", smiles=smiles, with_orders=with_orders)


_FORMULA = re.compile(r"^(?:[A-Z][a-z]?\d*)+$")


def _parse_formula(text: str) -> dict[str, int] | None:
    if not _FORMULA.match(text):
        return None
    counts: dict[str, int] = {}
    for symbol, number in re.findall(r"([A-Z][a-z]?)(\d*)", text):
        counts[symbol] = counts.get(symbol, 0) + (int(number) if number else 1)
    return counts


def _hill(counts: dict[str, int]) -> str:
    order = sorted(counts, key=lambda s: ({"C": 0, "H": 1}.get(s, 2), s))
    return "".join(f"{s}{counts[s] if counts[s] > 1 else ''}" for s in order if counts[s] > 0)


_FRAMES: dict[int, tuple] = {}


def _dataset_frame(dataset):
    """``dataset.to_frame()``, computed once per data set object (formulas take about a second)."""
    hit = _FRAMES.get(id(dataset))
    if hit is not None and hit[0]() is dataset:
        return hit[1]
    frame = dataset.to_frame()
    for key in [k for k, (ref, _) in _FRAMES.items() if ref() is None]:
        del _FRAMES[key]
    _FRAMES[id(dataset)] = (weakref.ref(dataset), frame)
    return frame


def search_qm9(dataset, query: str, limit: int = 50):
    """QM9 molecules matching ``query``: a formula (``C2H6O``), a SMILES, or a QM9 index.

    A SMILES matches molecules whose canonical SMILES (RDKit) equals the query's; only
    molecules of the same formula are canonicalised, so a search takes milliseconds.

    Returns
    -------
    pandas.DataFrame with the columns of ``dataset.to_frame()``, at most ``limit`` rows,
    formula matches first, then SMILES matches, then an index match.
    """
    import pandas as pd
    from rdkit import Chem, RDLogger
    from rdkit.Chem.rdMolDescriptors import CalcMolFormula

    text = (query or "").strip()
    frame = _dataset_frame(dataset)
    if not text:
        return frame.iloc[:0]
    formulas = frame["formula"].to_numpy()
    hits: list[np.ndarray] = []
    digits = re.fullmatch(r"[0-9]+", text) is not None  # not str.isdigit: '²' is a digit there
    if digits:
        hits.append(np.flatnonzero(frame["qm9_index"].to_numpy() == int(text)))
    counts = _parse_formula(text)
    if counts is not None:
        hits.append(np.flatnonzero(formulas == _hill(counts)))
    RDLogger.DisableLog("rdApp.*")
    try:
        mol = Chem.MolFromSmiles(text) if not digits else None
        if mol is not None:
            canonical = Chem.MolToSmiles(mol)
            candidates = np.flatnonzero(formulas == CalcMolFormula(mol).replace("+", "").replace("-", ""))
            same = []
            for row in candidates:
                other = Chem.MolFromSmiles(str(dataset.smiles[row]))
                if other is not None and Chem.MolToSmiles(other) == canonical:
                    same.append(row)
            hits.append(np.array(same, dtype=np.int64))
    finally:
        RDLogger.EnableLog("rdApp.*")
    if not hits:
        return frame.iloc[:0]
    rows = pd.unique(np.concatenate(hits).astype(np.int64))[:limit]
    return frame.iloc[rows].copy()
