"""`ScanSettings`: everything that defines a displacement scan, with its bounds and choices; the app's
sidebar and ``wqml scan`` build on these. `ScanError` is what settings that make no scan raise."""

from __future__ import annotations

import param

from .models import SCAN_MODELS
from .molecule import MoleculeError
from .reference_energies import REFERENCES

AXES: tuple[str, ...] = ("normal", "x", "y", "z", "bond", "custom")
MODELS: tuple[str, ...] = tuple(SCAN_MODELS)
DEFAULT_MODELS: tuple[str, ...] = ("l1_sorted", "w1")

#: Most grid points a scan may have (the CLI and app refuse finer grids with a clear message).
MAX_GRID_POINTS = 20001
#: The default collision distance of two atoms, as a fraction of the sum of their covalent radii (RDKit's
#: periodic table, Cordero et al. 2008: H 0.31, C 0.76, N 0.71, O 0.66, F 0.57 Angstrom): C-H 0.64,
#: C-C 0.91, C=O 0.85, H-H 0.37 Angstrom. Closer than that, two atoms are not a molecule any more.
COLLISION_FRACTION = 0.6
#: The default energy ceiling, kcal/mol above the reference's minimum over the scan (ten C-C bonds'
#: worth). The teaching examples span 63 to 196 kcal/mol and keep every geometry; without it a
#: Lennard-Jones reference climbs to 1e5-1e7 kcal/mol where an atom approaches another (QM9 #9187,
#: atom 0: 937,607 kcal/mol) and the rest of the curve looks flat.
MAX_ENERGY = 1000.0

#: Most Coulomb-matrix entries over the grid, ``g * n(n+1)/2``: bounds the memory of one
#: representation to 120 MB (201 points of a 300-atom molecule, 20001 points of QM9's largest).
MAX_REPRESENTATION_SIZE = 15_000_000


class ScanError(MoleculeError):
    """Settings that make no scan: empty range, unknown atom, undefined axis, too few points."""


class ScanSettings(param.Parameterized):
    """Everything that defines a displacement scan; the app and ``wqml scan`` build on these."""

    atom = param.Integer(0, bounds=(0, None), doc="Index of the atom that moves (0-based)")
    axis = param.Selector(default="normal", objects=list(AXES), doc=(
        "Direction of motion: normal of the best-fit plane, x, y, z, along the bond to `partner`, "
        "or `custom_axis`"))
    partner = param.Integer(None, allow_None=True, doc="For axis='bond': the other atom")
    custom_axis = param.NumericTuple((0.0, 0.0, 1.0), length=3, doc="For axis='custom': a vector (normalised)")
    d_min = param.Number(-1.0, doc="Smallest displacement, Angstrom")
    d_max = param.Number(1.0, doc="Largest displacement, Angstrom")
    step = param.Number(0.01, bounds=(0.001, 0.5), doc="Grid step, Angstrom (the paper: 0.01)")
    n_train = param.Integer(10, bounds=(2, None), doc="Training points drawn from the grid (the paper: 10)")
    n_train_large = param.Integer(80, bounds=(2, None), doc="Training points of the 'large' L1 model (the paper: 80)")
    seed = param.Integer(0, bounds=(0, None), doc="Seeds the training points and the random atom orders")
    models = param.ListSelector(default=list(DEFAULT_MODELS), objects=list(MODELS), doc="Models to fit")
    reference = param.Selector(default="lj", objects=list(REFERENCES), doc="Reference energy")
    sigma = param.Number(None, allow_None=True, bounds=(0, None), inclusive_bounds=(False, True), doc=(
        "Kernel width for every model (None: chosen by leave-one-out cross-validation)"))
    lam = param.Number(None, allow_None=True, bounds=(0, None), doc=(
        "Regularisation lambda for every model (None: chosen by leave-one-out cross-validation)"))
    min_distance = param.Number(None, allow_None=True, bounds=(0.0, None), doc=(
        "Angstrom: geometries with two atoms closer than this are left out (None: the chemical collision "
        "distance, `COLLISION_FRACTION` of the sum of the two atoms' covalent radii)"))
    max_energy = param.Number(MAX_ENERGY, allow_None=True, bounds=(0.0, None), inclusive_bounds=(False, True),
                              doc=("kcal/mol: geometries whose reference energy lies more than this above its "
                                   "minimum over the scan are left out (None: no ceiling)"))
    normalize = param.Boolean(False, doc="Display E and d normalised to [0, 1], as in the paper (display only)")


#: Settings whose change needs new geometries (a new `ScanEngine`).
ENGINE_SETTINGS = ("atom", "axis", "partner", "custom_axis", "d_min", "d_max", "step", "reference", "min_distance",
                   "max_energy")
#: Settings `ScanEngine.result` reads on each call: only the models are refitted.
MODEL_SETTINGS = ("models", "n_train", "n_train_large", "seed", "sigma", "lam")
