"""Small data set files for the app's tests: conformers of four small molecules with an MMFF energy
(eV, on a single-point calculator), written by ASE as extended XYZ."""

from __future__ import annotations

import functools
from pathlib import Path

EV_PER_KCAL = 0.0433641
SMILES = ("CCO", "CCCO", "CC(C)O", "CCN")


@functools.cache
def _frames(per_molecule: int) -> tuple:
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator
    from rdkit import Chem
    from rdkit.Chem import AllChem

    frames = []
    for smi in SMILES:
        mol = Chem.AddHs(Chem.MolFromSmiles(smi))
        ids = AllChem.EmbedMultipleConfs(mol, per_molecule, randomSeed=1)
        props = AllChem.MMFFGetMoleculeProperties(mol)
        for c in ids:
            energy = AllChem.MMFFGetMoleculeForceField(mol, props, confId=c).CalcEnergy()
            atoms = Atoms([a.GetAtomicNum() for a in mol.GetAtoms()], positions=mol.GetConformer(c).GetPositions())
            atoms.calc = SinglePointCalculator(atoms, energy=energy * EV_PER_KCAL)
            frames.append(atoms)
    return tuple(frames)


def write_conformers(folder: Path, name: str = "conformers.extxyz", per_molecule: int = 30) -> Path:
    """Write ``4 * per_molecule`` frames (120 by default) with ``energy`` in eV; returns the file."""
    from ase.io import write

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    write(path, list(_frames(per_molecule)), format="extxyz")
    return path
