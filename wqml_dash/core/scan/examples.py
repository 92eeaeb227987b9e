"""Ready-made molecules: the teaching examples (a molecule, an atom and an axis, each with what its scan
shows) and the example files shipped with the package (package data, read with importlib.resources)."""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from functools import lru_cache

from .molecule import Molecule, MoleculeError, molecule_from_qm9, molecule_from_smiles
from .molecule_files import molecule_from_file

#: Folder of the example files inside this package.
EXAMPLE_FILES = "example_files"


def example_files() -> dict[str, importlib.resources.abc.Traversable]:
    """The example molecule files shipped with the package (XYZ, SDF, PDB): file name -> resource."""
    folder = importlib.resources.files(__package__).joinpath(EXAMPLE_FILES)
    return {f.name: f for f in sorted(folder.iterdir(), key=lambda f: f.name) if f.is_file()}


def molecule_from_example_file(name: str) -> Molecule:
    """The molecule of an example file (`example_files`), read as an uploaded file would be."""
    files = example_files()
    if name not in files:
        raise MoleculeError(f"unknown example file {name!r}; choose one of {sorted(files)}")
    return molecule_from_file(files[name].read_bytes(), name)


@dataclass(frozen=True)
class TeachingExample:
    """A curated molecule with a sensible atom and axis for the displacement scan.

    ``atom`` (and ``partner``, for ``axis="bond"``) index the molecule as
    `molecule_from_example` builds it: for SMILES, heavy atoms in SMILES order then hydrogens;
    for QM9, QM9's atom order.
    """

    key: str
    title: str
    smiles: str | None
    qm9_index: int | None
    atom: int
    axis: str
    description: str
    partner: int | None = None


# Chosen by measuring jump ratios (then: largest jump between neighbouring grid points / the
# reference's) for every heavy atom of 14 planar candidates, seeds 0-9, default scan settings.
# Default, formic acid's carbonyl oxygen, seed 0, with today's jump ratio (`swaps.step_ratios`):
# L1 sorted (10 points) 18.3, W1 1.01, L1 sorted (80 points) 2.8; over seeds 0-9 the 10-point
# L1 ratio is 7.0 to 28.6 (median 13.1) and W1 at most 1.01. One pair of swap points
# (d = +-0.495 A) makes two plain, symmetric jumps.
# Each description states the swap points, ties and largest jumps its plot shows (default settings,
# seed 0); tests/core/test_teaching_examples.py checks every claim.
TEACHING_EXAMPLES: dict[str, TeachingExample] = {
    e.key: e for e in (
        TeachingExample(
            "formic_acid", "Formic acid: one clean swap", "O=CO", None, 0, "normal",
            "The carbonyl oxygen moves through the molecular plane: at d = ±0.5 Å its row in the sorted "
            "Coulomb matrix swaps with the other oxygen's and the L1-sorted model jumps, while W1 stays "
            "smooth, as in the paper's Fig. 2. No tie: the two oxygens never have equal norms at a grid point."),
        TeachingExample(
            "acrolein", "Acrolein: carbonyl carbon out of plane", "C=CC=O", None, 2, "normal",
            "The central carbonyl carbon moves out of the plane: near d = ±0.3 Å the rows of two hydrogens "
            "swap (a small jump), further out more rows, and at d = ±0.94 Å the rows of the carbons C1 and "
            "C2: the largest jump of L1 sorted. With 80 training points the jumps shrink but remain."),
        TeachingExample(
            "pyridine", "Pyridine (QM9 #215): many swaps and a tie", None, 215, 2, "normal",
            "A carbon next to the nitrogen of QM9's pyridine (B3LYP geometry) leaves the ring plane: rows of "
            "carbons and hydrogens swap at eight places between 0.29 and 0.68 Å on each side. At d = 0 the "
            "ring is symmetric and the rows of C1 and C5 tie (dotted line): the sort orders them differently "
            "there than on either side, and L1 sorted shows a one-point spike, its largest jump."),
        TeachingExample(
            "furan", "Furan (QM9 #52): more data does not help", None, 52, 1, "normal",
            "A carbon next to the oxygen of QM9's furan moves out of plane: rows swap at ±0.48, ±0.50, "
            "±0.68 and ±0.84 Å. At d = 0 the ring is symmetric and the rows of C1 and C4 tie (dotted line): "
            "L1 sorted spikes at that one point, its largest jump, and the spike stays as large with 80 "
            "training points as with 10 while the jumps at the swap points shrink."),
        TeachingExample(
            "butadiene", "Butadiene: a tie makes the largest jump", "C=CC=C", None, 0, "normal",
            "A terminal carbon of 1,3-butadiene moves out of plane. Only two hydrogen rows swap (H5 and H9, "
            "near d = ±0.3 Å, a small jump). The large jump is at d = 0, where the molecule is symmetric and "
            "the rows of the inner carbons C1 and C2 tie (dotted line): the sort puts them in another order "
            "there than on either side, and L1 sorted spikes by about 130 kcal/mol at that one point, with "
            "10 or with 80 training points. W1 does not depend on the order and stays smooth."),
        TeachingExample(
            "benzene", "Benzene: no swap, no jump", "c1ccccc1", None, 0, "normal",
            "A control: when a ring carbon of benzene moves out of plane no rows swap and none tie (the two "
            "carbons next to it stay equivalent), and L1 sorted is as smooth as W1."),
        TeachingExample(
            "ethylene_bond", "Ethylene: along the C=C bond", "C=C", None, 0, "bond",
            "One carbon moves along the C=C bond towards the other. At d = 0 the two carbons' rows tie and "
            "then cross (tie and swap at one point): L1 sorted spikes there. Beyond d = +0.27 Å the geometries "
            "are left out: the Lennard-Jones reference would rise more than 1,000 kcal/mol above its minimum "
            "(the energy ceiling), and beyond +0.42 Å the carbons would be closer than 0.6 of the sum of their "
            "covalent radii (0.91 Å).",
            partner=1),
    )
}


@lru_cache(maxsize=32)
def molecule_from_example(key: str) -> Molecule:
    """The molecule of teaching example ``key`` (SMILES examples need no QM9)."""
    try:
        example = TEACHING_EXAMPLES[key]
    except KeyError:
        raise MoleculeError(f"unknown example {key!r}; choose one of {list(TEACHING_EXAMPLES)}") from None
    if example.smiles is not None:
        mol = molecule_from_smiles(example.smiles, seed=0, name=example.title)
    else:
        from ..data import load_qm9

        mol = molecule_from_qm9(load_qm9(), example.qm9_index)
    return Molecule(mol.charges, mol.coords, mol.bonds, example.title, mol.smiles, f"example:{key}", mol.molblock)
