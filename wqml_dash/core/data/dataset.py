"""The in-memory molecular data set: ragged atoms stored flat, one row of properties per molecule.

This module only describes the container: `qm9` fills it from QM9, `ase_datasets` from any file
ASE reads.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .errors import DataError  # noqa: F401  (re-exported: the loaders' error)

#: Hartree to kcal/mol (the conversion DESIGN.md fixes).
HARTREE_TO_KCAL = 627.509474

#: Free-atom U0 references of QM9, Hartree (B3LYP/6-31G(2df,p)), keyed by nuclear charge.
ATOM_REFERENCE_U0 = {1: -0.500273, 6: -37.846772, 7: -54.583861, 8: -75.064579, 9: -99.718730}

ELEMENT_SYMBOLS = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F"}


def element_symbol(z: int) -> str:
    """The symbol of nuclear charge ``z`` (any element ASE knows), e.g. 17 -> 'Cl'."""
    if z in ELEMENT_SYMBOLS:
        return ELEMENT_SYMBOLS[z]
    from ase.data import chemical_symbols

    return chemical_symbols[z] if 0 < z < len(chemical_symbols) else f"Z{z}"
SYMBOL_TO_Z = {"H": 1, "He": 2, "Li": 3, "Be": 4, "B": 5, "C": 6, "N": 7, "O": 8, "F": 9,
               "Ne": 10, "Na": 11, "Mg": 12, "Al": 13, "Si": 14, "P": 15, "S": 16,
               "Cl": 17, "Ar": 18, "K": 19, "Ca": 20, "Br": 35, "I": 53}

#: QM9's scalar properties: canonical name -> (unit, description).
PROPERTIES = {
    "A": ("GHz", "rotational constant A"),
    "B": ("GHz", "rotational constant B"),
    "C": ("GHz", "rotational constant C"),
    "mu": ("D", "dipole moment"),
    "alpha": ("bohr^3", "isotropic polarizability"),
    "homo": ("Ha", "HOMO energy"),
    "lumo": ("Ha", "LUMO energy"),
    "gap": ("Ha", "HOMO-LUMO gap"),
    "r2": ("bohr^2", "electronic spatial extent"),
    "zpve": ("Ha", "zero-point vibrational energy"),
    "U0": ("Ha", "internal energy at 0 K"),
    "U": ("Ha", "internal energy at 298.15 K"),
    "H": ("Ha", "enthalpy at 298.15 K"),
    "G": ("Ha", "free energy at 298.15 K"),
    "Cv": ("cal/(mol K)", "heat capacity at 298.15 K"),
    "alpha_xx": ("bohr^3", "polarizability tensor xx"),
    "alpha_xy": ("bohr^3", "polarizability tensor xy"),
    "alpha_yy": ("bohr^3", "polarizability tensor yy"),
    "alpha_xz": ("bohr^3", "polarizability tensor xz"),
    "alpha_yz": ("bohr^3", "polarizability tensor yz"),
    "alpha_zz": ("bohr^3", "polarizability tensor zz"),
    "atomization_energy": ("kcal/mol", "atomization energy from U0"),
}


def unit_of(target: str) -> str:
    """The unit of a property of `PROPERTIES` ('' for an unknown name), e.g. 'kcal/mol'."""
    return PROPERTIES.get(target, ("", ""))[0]

#: The learning target the paper uses.
DEFAULT_TARGET = "atomization_energy"


def atomization_energy(u0_hartree: np.ndarray, charges: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Atomization energy ``E_at = U0 - sum_atoms E_ref(Z)`` in kcal/mol.

    Parameters
    ----------
    u0_hartree : (n_molecules,) float array, Hartree
    charges : (n_atoms_total,) int array of nuclear charges, molecules stored back to back
    offsets : (n_molecules + 1,) int array; atoms of molecule i are ``offsets[i]:offsets[i+1]``

    Returns
    -------
    (n_molecules,) float64 array, kcal/mol
    """
    ref = np.zeros(int(charges.max(initial=0)) + 1)
    for z, e in ATOM_REFERENCE_U0.items():
        if z < ref.size:
            ref[z] = e
    unknown = np.setdiff1d(np.unique(charges), list(ATOM_REFERENCE_U0))
    if unknown.size:
        raise ValueError(f"no free-atom reference energy for nuclear charges {unknown.tolist()}")
    per_molecule = np.add.reduceat(ref[charges], offsets[:-1]) if charges.size else np.zeros(0)
    return (np.asarray(u0_hartree, dtype=float) - per_molecule) * HARTREE_TO_KCAL


@dataclass(frozen=True, eq=False)
class MolecularDataset:
    """Molecules with their geometries and scalar properties.

    Atoms of all molecules are stored back to back; ``offsets`` slices them.

    Attributes
    ----------
    charges : (n_atoms_total,) int8, nuclear charges Z
    coordinates : (n_atoms_total, 3) float64, Angstrom
    offsets : (n_molecules + 1,) int64
    index : (n_molecules,) int64, the data set's own molecule numbers (QM9: 1..133885; a file: its
        frame numbers from 0)
    smiles : (n_molecules,) str ('' where unknown)
    properties : dict name -> (n_molecules,) float64, units as in `units`, else `PROPERTIES`
    name : a label for the user ('QM9', or the file's name)
    units : dict property -> unit, for properties `PROPERTIES` does not describe ('' = not given)
    index_name : what `index` counts: 'qm9_index' or 'frame'
    """

    charges: np.ndarray
    coordinates: np.ndarray
    offsets: np.ndarray
    index: np.ndarray
    smiles: np.ndarray
    properties: dict[str, np.ndarray] = field(default_factory=dict)
    name: str = "QM9"
    units: dict[str, str] = field(default_factory=dict)
    index_name: str = "qm9_index"

    def __post_init__(self):
        n = self.index.shape[0]
        if self.offsets.shape != (n + 1,) or self.offsets[-1] != self.charges.shape[0]:
            raise ValueError("offsets do not match the number of molecules and atoms")
        if self.coordinates.shape != (self.charges.shape[0], 3):
            raise ValueError("coordinates must have shape (n_atoms_total, 3)")
        for name, values in self.properties.items():
            if values.shape != (n,):
                raise ValueError(f"property {name!r} has shape {values.shape}, expected ({n},)")

    def __len__(self) -> int:
        return int(self.index.shape[0])

    @property
    def n_atoms(self) -> np.ndarray:
        """(n_molecules,) int64 atom counts."""
        return np.diff(self.offsets)

    @property
    def max_atoms(self) -> int:
        """Atoms in the largest molecule: the padded size of its Coulomb matrices."""
        return int(self.n_atoms.max(initial=0))

    def unit(self, name: str) -> str:
        """The unit of property ``name``, e.g. 'kcal/mol', 'eV'; '' where none is known."""
        return self.units[name] if name in self.units else unit_of(name)

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the atoms, geometries and properties (names and values; not units).

        Two loads of the same data give the same hash whatever the file's format or timestamps;
        a run records it, so that its results stay attributable to the data they came from.
        """
        h = hashlib.sha256()
        for array in (self.charges.astype(np.int64), self.coordinates.astype(np.float64),
                      self.offsets.astype(np.int64)):
            h.update(np.ascontiguousarray(array).tobytes())
        for name in sorted(self.properties):
            h.update(name.encode())
            h.update(np.ascontiguousarray(self.properties[name], dtype=np.float64).tobytes())
        return h.hexdigest()

    def identity(self, target: str | None = None) -> dict:
        """What a result records of its data: name, content hash, size, and the target with its unit."""
        d = {"name": self.name, "sha256": self.content_hash, "molecules": len(self), "max_atoms": self.max_atoms}
        if target is not None:
            d.update(target=target, unit=self.unit(target))
        return d

    @classmethod
    def from_ase(cls, frames, target: str | None = None, unit: str | None = None, **options) -> MolecularDataset:
        """A data set of ``ase.Atoms`` frames: see `ase_frames.arrays_from_ase` for the options and checks."""
        from .ase_frames import arrays_from_ase

        return cls(**arrays_from_ase(frames, target=target, unit=unit, **options))

    def to_ase(self) -> list:
        """The molecules as a list of ``ase.Atoms`` (Angstrom), properties in each ``info``."""
        from ase import Atoms

        frames = []
        for i in range(len(self)):
            z, xyz = self.molecule(i)
            info = {k: float(v[i]) for k, v in self.properties.items()}
            info[self.index_name] = int(self.index[i])
            if self.smiles[i]:
                info["smiles"] = str(self.smiles[i])
            frames.append(Atoms(numbers=z.astype(int), positions=xyz, info=info))
        return frames

    @property
    def energy(self) -> np.ndarray:
        """(n_molecules,) atomization energies, kcal/mol."""
        return self.properties["atomization_energy"]

    def molecule(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Nuclear charges (n,) and coordinates (n, 3) in Angstrom of molecule ``i`` (row position)."""
        lo, hi = self.offsets[i], self.offsets[i + 1]
        return self.charges[lo:hi], self.coordinates[lo:hi]

    def element_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Atoms of each element per molecule.

        Returns
        -------
        elements : (k,) sorted nuclear charges present in the data set
        counts : (n_molecules, k) int64
        """
        elements, column = np.unique(self.charges, return_inverse=True)
        onehot = np.zeros((self.charges.size, elements.size), dtype=np.int64)
        onehot[np.arange(self.charges.size), column] = 1
        counts = np.add.reduceat(onehot, self.offsets[:-1], axis=0) if len(self) else onehot[:0]
        counts[self.n_atoms == 0] = 0
        return elements, counts

    def formulas(self) -> np.ndarray:
        """(n_molecules,) Hill formulas, e.g. ``C2H6O`` (C, then H, then the rest by symbol)."""
        elements, counts = self.element_counts()
        symbols = [element_symbol(int(z)) for z in elements]
        order = sorted(range(len(symbols)), key=lambda k: ({"C": 0, "H": 1}.get(symbols[k], 2), symbols[k]))
        out = np.full(len(self), "", dtype=object)
        for k in order:
            c = counts[:, k]
            part = np.where(c > 1, [f"{symbols[k]}{v}" for v in c], np.where(c == 1, symbols[k], ""))
            out = out + part
        return out.astype(str)

    def formula(self, i: int) -> str:
        """Hill formula of molecule ``i``, e.g. ``C2H6O``."""
        return str(self.subset([i]).formulas()[0])

    def describe(self, target: str = DEFAULT_TARGET) -> dict:
        """Summary numbers: molecules, atoms, largest molecule, mean and std of ``target``."""
        y = self.target(target)
        return {"molecules": len(self), "atoms": int(self.charges.size),
                "max_atoms": self.max_atoms, "target": target, "unit": self.unit(target),
                "mean": float(y.mean()) if y.size else float("nan"),
                "std": float(y.std()) if y.size else float("nan")}

    def to_frame(self, properties: tuple[str, ...] = (DEFAULT_TARGET, "gap")):
        """A pandas DataFrame, one row per molecule: qm9_index (or frame), smiles, formula, atoms,
        properties."""
        import pandas as pd

        columns = {self.index_name: self.index, "smiles": self.smiles, "formula": self.formulas(),
                   "atoms": self.n_atoms}
        columns.update({p: self.properties[p] for p in properties if p in self.properties})
        return pd.DataFrame(columns)

    def target(self, name: str = DEFAULT_TARGET) -> np.ndarray:
        """(n_molecules,) values of property ``name``; raises ValueError naming the choices."""
        if name not in self.properties:
            raise ValueError(f"{self.name} has no property {name!r}; choose one of {sorted(self.properties)}")
        return self.properties[name]

    def atom_rows(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of the atoms of molecules ``rows`` in the flat arrays.

        Returns
        -------
        atom_rows : (n_atoms of those molecules,) int64, molecule by molecule
        offsets : (len(rows) + 1,) int64 offsets into ``atom_rows``
        """
        rows = np.asarray(rows, dtype=np.int64)
        counts = self.n_atoms[rows]
        offsets = np.zeros(rows.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        atom_rows = (np.repeat(self.offsets[rows] - offsets[:-1], counts)
                     + np.arange(offsets[-1], dtype=np.int64))
        return atom_rows, offsets

    def subset(self, rows: np.ndarray) -> MolecularDataset:
        """A new data set with the molecules at positions ``rows``, in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        atom_rows, offsets = self.atom_rows(rows)
        return MolecularDataset(
            charges=self.charges[atom_rows],
            coordinates=self.coordinates[atom_rows],
            offsets=offsets,
            index=self.index[rows],
            smiles=self.smiles[rows],
            properties={k: v[rows] for k, v in self.properties.items()},
            name=self.name, units=dict(self.units), index_name=self.index_name,
        )
