"""Reference energies along a displacement scan, in kcal/mol.

Four references (``REFERENCES``), each explained to users in ``REFERENCE_HELP``:

- ``lj``: a Lennard-Jones model potential over all atom pairs,
  ``E = sum_{i<j} eps_ij [(r0_ij / r_ij)^12 - 2 (r0_ij / r_ij)^6]``, where ``r0_ij`` is the
  pair's distance in the input geometry. Every pair term therefore has its minimum at the
  input geometry, so d = 0 is the exact minimum of the scan and the curve is smooth, as in
  the paper's Fig. 2. Bonded pairs get a deep well (``LJ_BOND_DEPTH``), all other pairs a
  weak one (``LJ_NONBOND_DEPTH``), so moving an atom mostly feels its bonds.
- ``lj_uff``: UFF's van der Waals energy alone: Lennard-Jones
  ``D_ij [(x_ij / r)^12 - 2 (x_ij / r)^6]`` with UFF's parameters (Rappe et al. 1992),
  ``x_i`` (distance) and ``D_i`` (well depth) per element, UFF's geometric combining rules
  ``x_ij = sqrt(x_i x_j)``, ``D_ij = sqrt(D_i D_j)``, over the pairs UFF applies it to: all
  pairs except bonded (1-2) and 1-3 pairs. A physical non-bonded energy; nothing holds the
  bonds together, so the input geometry is not its minimum.
- ``uff`` and ``mmff94``: RDKit's full force fields (bonds, angles, torsions, van der Waals,
  electrostatics for MMFF94). They need bonds with orders, and MMFF94 has parameters for
  common organic chemistry only.
"""

from __future__ import annotations

import numpy as np

from .molecule import MoleculeError

REFERENCES: tuple[str, ...] = ("lj", "lj_uff", "uff", "mmff94")

REFERENCE_HELP: dict[str, str] = {
    "lj": ("Lennard-Jones model potential (default). Every atom pair has its Lennard-Jones minimum "
           "at its distance in the input geometry, so d = 0 is the minimum and the curve is smooth; "
           "bonded pairs have a deep well, the other pairs a weak one. "
           "A model energy, as in the paper's Fig. 2, not a chemical one. Where an atom comes close to "
           "another its (r0/r)^12 repulsion reaches millions of kcal/mol (a notice names the pair)."),
    "lj_uff": ("The van der Waals (Lennard-Jones) energy of the Universal Force Field alone: UFF's "
               "distances and well depths, over all pairs except bonded and 1-3 pairs. Nothing holds "
               "the bonds together, so the input geometry is not the minimum."),
    "uff": ("RDKit's Universal Force Field: bonds, angles, torsions and van der Waals terms. "
            "Needs bonds (perceived from the geometry for XYZ files)."),
    "mmff94": ("RDKit's MMFF94 force field, tuned for organic molecules: bonds, angles, torsions, "
               "van der Waals and electrostatics. Needs bonds and has no parameters for some elements."),
}

#: Well depth of the ``lj`` model for bonded pairs, kcal/mol (of the order of a bond energy).
LJ_BOND_DEPTH = 100.0
#: Well depth of the ``lj`` model for non-bonded pairs, kcal/mol.
LJ_NONBOND_DEPTH = 1.0

#: UFF van der Waals parameters per element (Rappe et al., JACS 114, 10024 (1992), Table 1,
#: the element's first atom type): x_i in Angstrom, D_i in kcal/mol.
UFF_VDW: dict[int, tuple[float, float]] = {
    1: (2.886, 0.044), 2: (2.362, 0.056), 3: (2.451, 0.025), 4: (2.745, 0.085), 5: (4.083, 0.180),
    6: (3.851, 0.105), 7: (3.660, 0.069), 8: (3.500, 0.060), 9: (3.364, 0.050), 10: (3.243, 0.042),
    11: (2.983, 0.030), 12: (3.021, 0.111), 13: (4.499, 0.505), 14: (4.295, 0.402), 15: (4.147, 0.305),
    16: (4.035, 0.274), 17: (3.947, 0.227), 18: (3.868, 0.185), 19: (3.812, 0.035), 20: (3.399, 0.238),
    35: (4.189, 0.251), 53: (4.500, 0.339),
}


class ReferenceError(MoleculeError):
    """A reference energy cannot be computed for this molecule (e.g. missing force-field parameters).

    A `MoleculeError`, so that one ``except MoleculeError`` covers every user-caused failure.
    """


def pair_distances(coords: np.ndarray) -> np.ndarray:
    """Distances of all pairs i < j: (..., n, 3) -> (..., n(n-1)/2), Angstrom."""
    n = coords.shape[-2]
    i, j = np.triu_indices(n, k=1)
    return np.linalg.norm(coords[..., i, :] - coords[..., j, :], axis=-1)


def _lj(r: np.ndarray, r0: np.ndarray, eps: np.ndarray) -> np.ndarray:
    q = (r0 / r) ** 6
    return (eps * (q * q - 2.0 * q)).sum(axis=-1)


def lj_model_energies(charges: np.ndarray, coords0: np.ndarray, bonds: np.ndarray,
                      geometries: np.ndarray) -> np.ndarray:
    """The ``lj`` model potential of each geometry.

    Parameters
    ----------
    charges : (n,) nuclear charges (unused by the model; kept for a uniform signature)
    coords0 : (n, 3) the input geometry, Angstrom: every pair's LJ minimum
    bonds : (m, 2) bonded pairs (deep wells); when empty, pairs closer than 1.25 times the sum
        of their covalent radii count as bonded
    geometries : (g, n, 3) Angstrom

    Returns
    -------
    (g,) kcal/mol; the minimum, ``-sum eps_ij``, at ``geometries == coords0``
    """
    n = coords0.shape[0]
    r0 = pair_distances(coords0)
    bonded = _bonded_pairs(charges, r0, bonds, n)
    eps = np.where(bonded, LJ_BOND_DEPTH, LJ_NONBOND_DEPTH)
    return _lj(pair_distances(geometries), r0, eps)


def _bonded_pairs(charges, r0, bonds, n) -> np.ndarray:
    i, j = np.triu_indices(n, k=1)
    bonds = np.asarray(bonds, dtype=np.int64).reshape(-1, 2)
    if bonds.size:
        key = set(map(tuple, np.sort(bonds, axis=1).tolist()))
        return np.array([(a, b) in key for a, b in zip(i.tolist(), j.tolist(), strict=False)], dtype=bool)
    from rdkit import Chem

    table = Chem.GetPeriodicTable()
    rc = np.array([table.GetRcovalent(int(z)) for z in charges])
    return r0 < 1.25 * (rc[i] + rc[j])


def uff_vdw_pairs(n: int, bonds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) that UFF's van der Waals term covers: not bonded, not sharing a neighbour."""
    adjacency = np.zeros((n, n), dtype=bool)
    b = np.asarray(bonds, dtype=np.int64).reshape(-1, 2)
    adjacency[b[:, 0], b[:, 1]] = adjacency[b[:, 1], b[:, 0]] = True
    two_steps = (adjacency.astype(np.int64) @ adjacency.astype(np.int64)) > 0
    i, j = np.triu_indices(n, k=1)
    keep = ~(adjacency[i, j] | two_steps[i, j])
    return i[keep], j[keep]


def uff_vdw_parameters(charges: np.ndarray, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UFF's combined x_ij (Angstrom) and D_ij (kcal/mol) for pairs (i, j): geometric means."""
    z = [int(v) for v in np.asarray(charges)]
    missing = sorted({v for v in z if v not in UFF_VDW})
    if missing:
        raise ReferenceError(f"no UFF van der Waals parameters for Z = {missing}")
    x = np.array([UFF_VDW[v][0] for v in z])
    dep = np.array([UFF_VDW[v][1] for v in z])
    return np.sqrt(x[i] * x[j]), np.sqrt(dep[i] * dep[j])


def lj_uff_energies(charges: np.ndarray, bonds: np.ndarray, geometries: np.ndarray) -> np.ndarray:
    """UFF's van der Waals energy (Lennard-Jones, UFF parameters and exclusions): (g,) kcal/mol.

    Parameters
    ----------
    charges : (n,) nuclear charges
    bonds : (m, 2) bonded pairs (1-2 and 1-3 pairs are excluded, as in UFF)
    geometries : (g, n, 3) Angstrom
    """
    n = len(charges)
    uff_vdw_parameters(charges, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))  # all known?
    i, j = uff_vdw_pairs(n, bonds)
    if i.size == 0:
        raise ReferenceError("every atom pair is bonded or 1-3: the UFF van der Waals energy is zero; "
                             "choose another reference")
    x, dep = uff_vdw_parameters(charges, i, j)
    r = np.linalg.norm(geometries[:, i] - geometries[:, j], axis=-1)
    q = (x / r) ** 6
    return (dep * (q * q - 2.0 * q)).sum(axis=-1)


def force_field_energies(mol, geometries: np.ndarray, field: str) -> np.ndarray:
    """RDKit UFF or MMFF94 energies of each geometry: (g,) kcal/mol.

    Parameters
    ----------
    mol : `Molecule` (needs bond orders: ``mol.molblock``)
    geometries : (g, n, 3) Angstrom
    field : 'uff' or 'mmff94'
    """
    from rdkit import RDLogger

    if field not in ("uff", "mmff94"):
        raise ValueError(f"unknown force field {field!r}")
    label = "UFF" if field == "uff" else "MMFF94"
    if mol.molblock is None:
        raise ReferenceError(f"{label} needs bond orders, which could not be assigned for this molecule")
    rd = mol.to_rdkit()
    RDLogger.DisableLog("rdApp.*")  # RDKit's own typer warnings; we raise a clear error instead
    try:
        return _force_field_energies(rd, geometries, field, label)
    finally:
        RDLogger.EnableLog("rdApp.*")


def _force_field_energies(rd, geometries, field, label):
    from rdkit.Chem import AllChem

    if field == "mmff94":
        if not AllChem.MMFFHasAllMoleculeParams(rd):
            raise ReferenceError("MMFF94 has no parameters for this molecule; choose UFF or a Lennard-Jones reference")
        ff = AllChem.MMFFGetMoleculeForceField(rd, AllChem.MMFFGetMoleculeProperties(rd),
                                               ignoreInterfragInteractions=False)
    else:
        if not AllChem.UFFHasAllMoleculeParams(rd):
            raise ReferenceError("UFF has no parameters for this molecule; choose a Lennard-Jones reference")
        ff = AllChem.UFFGetMoleculeForceField(rd, ignoreInterfragInteractions=False)
    flat = np.ascontiguousarray(geometries, dtype=np.float64).reshape(len(geometries), -1)
    return np.array([ff.CalcEnergy(row.tolist()) for row in flat])


#: A reference that spans more than this along a scan (kcal/mol) gets a notice: the scans of the teaching
#: examples span 63 to 196, the default energy ceiling (`settings.MAX_ENERGY`) keeps every scan within
#: it, and a Lennard-Jones reference without the ceiling reaches 1e5 to 1e7 where an atom approaches
#: another (C40H82's end carbon 0.58 Angstrom from its neighbour: (1.52 / 0.58)^12 x 100).
STEEP_REFERENCE = 1000.0


def steepest_pair(name: str, mol, geometry: np.ndarray) -> tuple[int, int, float, float, float] | None:
    """The atom pair with the largest Lennard-Jones term of reference ``name`` at ``geometry`` (n, 3).

    Returns
    -------
    (i, j, r, r0, energy): the pair, its distance at ``geometry`` and its distance in the input
    (both Angstrom) and its term (kcal/mol); None for references without pair terms (force fields)
    """
    n = len(mol.charges)
    if name == "lj":
        i, j = np.triu_indices(n, k=1)
        r0 = pair_distances(mol.coords)
        eps = np.where(_bonded_pairs(mol.charges, r0, mol.bonds, n), LJ_BOND_DEPTH, LJ_NONBOND_DEPTH)
        x = r0
    elif name == "lj_uff":
        i, j = uff_vdw_pairs(n, mol.bonds)
        if i.size == 0:
            return None
        x, eps = uff_vdw_parameters(mol.charges, i, j)
        r0 = np.linalg.norm(mol.coords[i] - mol.coords[j], axis=-1)
    else:
        return None
    r = np.linalg.norm(geometry[i] - geometry[j], axis=-1)
    q = (x / r) ** 6
    terms = eps * (q * q - 2.0 * q)
    k = int(np.argmax(terms))
    return int(i[k]), int(j[k]), float(r[k]), float(r0[k]), float(terms[k])


def steep_reference_notice(name: str, mol, d: np.ndarray, geometries: np.ndarray, energies: np.ndarray) -> str | None:
    """Why the reference spans more than `STEEP_REFERENCE` kcal/mol along a scan (None if it does not).

    The notice states the span and the threshold, then where the reference is highest and, for the
    Lennard-Jones references, which pair of atoms makes it so.

    ``d`` (g,) Angstrom, ``geometries`` (g, n, 3), ``energies`` (g,) kcal/mol, NaN where left out.
    """
    if not np.isfinite(energies).any() or np.nanmax(energies) - np.nanmin(energies) <= STEEP_REFERENCE:
        return None
    top = int(np.nanargmax(energies))
    span = np.nanmax(energies) - np.nanmin(energies)
    text = (f"The reference reaches {energies[top]:,.0f} kcal/mol at d = {d[top]:+.2f} Å and spans "
            f"{span:,.0f} kcal/mol, more than {STEEP_REFERENCE:,.0f}")
    zoom = "lower the energy ceiling, shorten the range or raise the collision distance to zoom in"
    pair = steepest_pair(name, mol, geometries[top])
    if pair is None:
        return f"{text}, where atoms come close: {zoom}"
    i, j, r, r0, _ = pair
    sym = [mol.symbols[k] for k in (i, j)]
    return (f"{text}: {sym[0]}{i} and {sym[1]}{j} are {r:.2f} Å apart there ({r0:.2f} Å in the input) and the "
            f"Lennard-Jones repulsion grows as (r0/r)^12, so the rest of the curve looks flat; {zoom}")


def reference_energies(name: str, mol, geometries: np.ndarray) -> np.ndarray:
    """Energies of ``geometries`` (g, n, 3) of molecule ``mol`` under reference ``name``: (g,) kcal/mol."""
    if name == "lj":
        return lj_model_energies(mol.charges, mol.coords, mol.bonds, geometries)
    if name == "lj_uff":
        return lj_uff_energies(mol.charges, mol.bonds, geometries)
    if name in ("uff", "mmff94"):
        return force_field_energies(mol, geometries, name)
    raise ValueError(f"unknown reference {name!r}; choose one of {list(REFERENCES)}")
