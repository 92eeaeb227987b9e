"""Displacement scans (the paper's Fig. 2): move one atom along an axis, compare KRR models.

Atom ``a`` moves along the unit axis ``u``: ``R_a(d) = R_a + d u`` for d on a grid (default
[-1, 1] Angstrom in steps of 0.01). Geometries where two atoms come closer than
``min_distance`` are flagged and never reach the Coulomb matrix. Along the valid grid we
compute a reference energy, draw ``n_train`` training points (seeded), fit KRR models on
Coulomb matrices with different metrics and atom orders, and predict the whole curve.

`ScanEngine` does the geometry-dependent work once (geometries, Coulomb matrices per order,
reference energies, swap points); `ScanEngine.result` only fits and predicts, which for
201 grid points takes milliseconds (tens with all six models).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import param

from ..learn.metrics import distances, prepare
from .molecule import Molecule, MoleculeError
from .reference_energies import (REFERENCE_HELP, REFERENCES, ReferenceError, reference_energies,
                                steep_reference_notice)
from ..features.coulomb_matrix import coulomb_matrix, coulomb_vectors, order_permutation, vector_length, vectorize
from .models import MODEL_LABELS, MODEL_SPECS, fit_predict, select_hyperparameters, single_threaded

__all__ = ["AXES", "REFERENCES", "REFERENCE_HELP", "MODELS", "MODEL_LABELS", "DEFAULT_MODELS", "ScanError",
           "ScanSettings", "ScanResult", "ScanEngine", "run_scan", "scan_axis", "is_linear", "displaced_coords",
           "sorted_cm", "scan_grid", "settings_for_example", "scan_csv",
           "normalize_energy", "normalize_displacement", "draw_training_sets", "swap_intervals", "tie_points",
           "jump_ratio"]

AXES: tuple[str, ...] = ("normal", "x", "y", "z", "bond", "custom")
MODELS: tuple[str, ...] = tuple(MODEL_SPECS)
DEFAULT_MODELS: tuple[str, ...] = ("l1_sorted", "w1")

#: Most grid points a scan may have (the CLI and app refuse finer grids with a clear message).
MAX_GRID_POINTS = 20001
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
    min_distance = param.Number(0.5, bounds=(0.0, None), doc=(
        "Angstrom: geometries with two atoms closer than this are left out"))
    normalize = param.Boolean(False, doc="Display E and d normalised to [0, 1], as in the paper (display only)")


# ----------------------------------------------------------------------------------------
# Geometry


def scan_axis(mol: Molecule, settings: ScanSettings) -> np.ndarray:
    """The unit vector (3,) along which ``settings.atom`` moves.

    ``normal``: the smallest principal axis of the centred coordinates (the best-fit plane's
    normal), signed so that its largest component is positive. A linear molecule (two atoms,
    or all atoms within `LINEAR_TOLERANCE` of one line) has no best-fit plane: the axis is then
    the direction perpendicular to the line that is closest to the coordinate axis (x, y or z)
    least aligned with the line (see `is_linear`), so that the atom moves off the line.

    Raises
    ------
    ScanError
        unknown atom or partner, zero custom vector, a single atom.
    """
    n = len(mol)
    _check_atom(settings.atom, n, "atom")
    if settings.axis in ("x", "y", "z"):
        u = np.zeros(3)
        u["xyz".index(settings.axis)] = 1.0
        return u
    if settings.axis == "normal":
        if n < 2:
            raise ScanError("a single atom has no molecular plane; choose x, y or z")
        centred = mol.coords - mol.coords.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=True)
        if is_linear(mol.coords):
            line = vt[0]
            e = np.eye(3)[int(np.argmin(np.abs(line)))]  # the coordinate axis least aligned with the line
            u = e - (e @ line) * line
        else:
            u = vt[2]
    elif settings.axis == "bond":
        if settings.partner is None:
            raise ScanError("axis 'bond' needs a partner atom")
        _check_atom(settings.partner, n, "partner")
        if settings.partner == settings.atom:
            raise ScanError("the partner atom must differ from the moving atom")
        u = mol.coords[settings.partner] - mol.coords[settings.atom]
    elif settings.axis == "custom":
        u = np.asarray(settings.custom_axis, dtype=np.float64)
        if not np.isfinite(u).all() or np.abs(u).max() == 0:
            raise ScanError("the custom axis must be a non-zero vector of finite numbers")
        u = u / np.abs(u).max()  # no overflow in the norm below for huge components
        if np.linalg.norm(u) < 1e-12:
            raise ScanError("the custom axis must be a non-zero vector of finite numbers")
    else:
        raise ScanError(f"unknown axis {settings.axis!r}; choose one of {list(AXES)}")
    u = u / np.linalg.norm(u)
    if settings.axis == "normal" and u[np.argmax(np.abs(u))] < 0:
        u = -u
    return u + 0.0  # no negative zeros


#: A molecule counts as linear when its atoms lie within this distance (Angstrom, RMS) of one line.
LINEAR_TOLERANCE = 1e-3


def is_linear(coords: np.ndarray) -> bool:
    """Whether atoms (n, 3) lie on one line (RMS distance below `LINEAR_TOLERANCE`): no best-fit plane."""
    coords = np.asarray(coords, dtype=np.float64)
    if len(coords) < 3:
        return True
    sv = np.linalg.svd(coords - coords.mean(axis=0), compute_uv=False)
    return bool(np.sqrt((sv[1:] ** 2).sum() / len(coords)) < LINEAR_TOLERANCE)


def _check_atom(i, n, what):
    if i is None or not 0 <= int(i) < n:
        raise ScanError(f"{what} {i} does not exist: the molecule has atoms 0 to {n - 1}")


def scan_grid(d_min: float, d_max: float, step: float) -> np.ndarray:
    """Displacements (g,) from ``d_min`` to ``d_max`` (included when on the grid), Angstrom.

    Values are rounded to 1e-9 Angstrom so that d = 0 is exactly zero on the default grid.
    """
    if not (np.isfinite(d_min) and np.isfinite(d_max) and np.isfinite(step)):
        raise ScanError("the range and step must be finite numbers")
    if step <= 0:
        raise ScanError(f"the step must be positive, got {step}")
    if d_max <= d_min:
        raise ScanError(f"the range is empty: d_min {d_min} must be below d_max {d_max}")
    span = (d_max - d_min) / step
    if not span < MAX_GRID_POINTS:  # also catches an overflow to inf
        raise ScanError(f"{span:.3g} grid points are too many (at most {MAX_GRID_POINTS}): use a larger step "
                        "or a shorter range")
    count = int(np.floor(span + 1e-9)) + 1
    if count > MAX_GRID_POINTS:
        raise ScanError(f"{count} grid points are too many (at most {MAX_GRID_POINTS}): use a larger step")
    return np.round(d_min + step * np.arange(count), 9) + 0.0


def displaced_coords(mol: Molecule, atom: int, axis: np.ndarray, d) -> np.ndarray:
    """Coordinates with ``atom`` moved by ``d`` along ``axis``.

    ``d`` a number: (n, 3); ``d`` an array (g,): (g, n, 3). Angstrom.
    """
    d_arr = np.asarray(d, dtype=np.float64)
    coords = np.broadcast_to(mol.coords, d_arr.shape + mol.coords.shape).copy()
    coords[..., atom, :] += d_arr[..., None] * np.asarray(axis, dtype=np.float64)
    return coords


def sorted_cm(charges: np.ndarray, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Coulomb matrix with rows and columns sorted by descending row norm (stable).

    Returns
    -------
    cm : (n, n) sorted Coulomb matrix
    perm : (n,) original atom index of each sorted row
    """
    cm = coulomb_matrix(charges, coords)
    perm = order_permutation(cm, len(charges), "sorted")
    return cm[np.ix_(perm, perm)], perm


class ScanCoulombMatrices:
    """Coulomb matrices of a scan, built on demand: only the moving atom's row and column change.

    Indexing with a grid index gives the (n, n) unsorted matrix of that geometry; nothing of
    size (g, n, n) is ever stored.

    Parameters
    ----------
    charges : (n,) nuclear charges
    coords : (n, 3) input geometry, Angstrom
    atom : the moving atom
    geometries : (g, n, 3) Angstrom
    """

    def __init__(self, charges: np.ndarray, coords: np.ndarray, atom: int, geometries: np.ndarray):
        self.base = coulomb_matrix(charges, coords)
        self.atom = atom
        z = np.asarray(charges, dtype=np.float64)
        r = np.linalg.norm(geometries[:, atom, None, :] - geometries[:, :, :], axis=-1)  # (g, n)
        r[:, atom] = 1.0
        with np.errstate(divide="ignore"):
            self.rows = z[atom] * z[None, :] / r  # (g, n): the moving atom's row
        self.rows[:, atom] = 0.5 * z[atom] ** 2.4

    def __len__(self) -> int:
        return self.rows.shape[0]

    def __getitem__(self, i: int) -> np.ndarray:
        cm = self.base.copy()
        cm[self.atom, :] = self.rows[i]
        cm[:, self.atom] = self.rows[i]
        return cm

    def scale(self) -> float:
        """Largest entry magnitude over the scan (finite rows only)."""
        finite = self.rows[np.isfinite(self.rows).all(axis=1)]
        return float(max(np.abs(self.base).max(), np.abs(finite).max() if finite.size else 0.0))

    def permutations(self, chunk: int = 512) -> np.ndarray:
        """Sorted order (descending row norm, stable) of every geometry: (g, n) int64."""
        n = self.base.shape[0]
        out = np.empty((len(self), n), dtype=np.int64)
        for lo in range(0, len(self), chunk):
            hi = min(lo + chunk, len(self))
            cms = np.broadcast_to(self.base, (hi - lo, n, n)).copy()
            cms[:, self.atom, :] = self.rows[lo:hi]
            cms[:, :, self.atom] = self.rows[lo:hi]
            out[lo:hi] = sorted_permutations(cms)
        return out


def sorted_permutations(cms: np.ndarray) -> np.ndarray:
    """Sorted order of each Coulomb matrix (g, n, n) -> (g, n): descending row norm, stable."""
    return np.argsort(-np.linalg.norm(cms, axis=2), axis=1, kind="stable")


def swap_intervals(cms, perms: np.ndarray, valid: np.ndarray, rtol: float = 1e-9,
                   scale: float | None = None) -> np.ndarray:
    """Grid intervals (i, i+1), both valid, where the sorted order changes the sorted matrix.

    A change of permutation between two atoms whose rows are equivalent (a symmetry, or rounding
    between equal norms) leaves the sorted matrix unchanged, makes no jump and is not reported:
    an interval counts when sorting matrix i+1 with the order of point i gives a different
    matrix than its own order does, and sorting matrix i with the order of point i+1 too (at a
    symmetric point i the two orders can give the same matrix there, and differ only by the
    symmetry breaking a step away: no jump).

    Parameters
    ----------
    cms : (g, n, n) unsorted Coulomb matrices, or anything whose ``cms[i]`` is one
        (`ScanCoulombMatrices`)
    perms : (g, n) sorted orders (`sorted_permutations`)
    valid : (g,) bool
    rtol : a difference counts above ``rtol * scale``
    scale : largest entry magnitude (default: computed from ``cms``)

    Returns
    -------
    (k, 2) int64 grid index pairs
    """
    out = []
    if scale is None:
        scale = float(np.abs(np.asarray(cms)[valid]).max()) if valid.any() else 1.0
    for i in np.flatnonzero(valid[:-1] & valid[1:]):
        a, b = perms[i], perms[i + 1]
        if np.array_equal(a, b):
            continue
        if all(np.abs(m[np.ix_(a, a)] - m[np.ix_(b, b)]).max() > rtol * scale for m in (cms[i], cms[i + 1])):
            out.append((i, i + 1))
    return np.array(out, dtype=np.int64).reshape(-1, 2)


#: Two row norms count as equal (a tie) within this fraction of the largest row norm of the matrix.
#: Symmetric geometries from a force field or DFT are symmetric only to a few digits: the norms of
#: equivalent rows agree to 2e-8 (1,3-butadiene from RDKit), 2e-7 (QM9's furan) and 6e-6 (the six
#: carbons of QM9's benzene, #214) of the largest. A crossing of two norms lands this close to a grid
#: point only when it lies within about 1e-5 Å of it.
TIE_RTOL = 1e-5


def tie_points(cms, perms: np.ndarray, valid: np.ndarray, rtol: float = 1e-9, scale: float | None = None,
               tie_rtol: float = TIE_RTOL) -> np.ndarray:
    """Grid points where rows tie and the sorted order there differs from the order on both sides.

    At a symmetric geometry two rows of the Coulomb matrix can have equal norms; the stable sort
    then keeps them in input order, which may differ from the order just before and just after
    (where one of them is larger). The sorted matrix at that one point differs from both
    neighbours', and a sorted-CM model shows a one-point spike: a tie, not a swap (a swap is a
    crossing of two norms between grid points, after which the new order stays).

    Grid point i (i - 1, i, i + 1 all valid) is a tie when the sorted matrix at i differs from
    matrix i sorted with the order of point i - 1 and with that of point i + 1, and both those
    orders sort point i's row norms just as well (descending within ``tie_rtol`` of the largest
    norm): the sort at i was ambiguous and chose neither side's order.

    Parameters
    ----------
    cms : (g, n, n) unsorted Coulomb matrices, or anything whose ``cms[i]`` is one
    perms : (g, n) sorted orders (`sorted_permutations`)
    valid : (g,) bool
    rtol, scale : a matrix difference counts above ``rtol * scale`` (as in `swap_intervals`)
    tie_rtol : row norms within ``tie_rtol`` times the largest norm count as equal

    Returns
    -------
    (t,) int64 grid indices
    """
    perms = np.asarray(perms)
    if len(perms) < 3:
        return np.zeros(0, dtype=np.int64)
    if scale is None:
        scale = float(np.abs(np.asarray(cms)[valid]).max()) if valid.any() else 1.0
    inner = valid[:-2] & valid[1:-1] & valid[2:]
    changed = (perms[1:-1] != perms[:-2]).any(axis=1) & (perms[1:-1] != perms[2:]).any(axis=1)
    out = []
    for i in np.flatnonzero(inner & changed) + 1:
        m = cms[i]
        norms = np.linalg.norm(m, axis=1)
        own = m[np.ix_(perms[i], perms[i])]
        tol = tie_rtol * norms.max()

        def other_side(q, m=m, own=own, norms=norms, tol=tol):
            differs = np.abs(m[np.ix_(q, q)] - own).max() > rtol * scale
            also_sorts = bool((np.diff(norms[q]) <= tol).all())
            return differs and also_sorts

        if other_side(perms[i - 1]) and other_side(perms[i + 1]):
            out.append(i)
    return np.array(out, dtype=np.int64)


def split_ties(cms, intervals: np.ndarray, ties: np.ndarray, perms: np.ndarray, rtol: float = 1e-9,
               scale: float = 1.0) -> np.ndarray:
    """Swap intervals without the order changes into and out of tie points.

    Both intervals next to a tie change the sorted order (into the tie's order and back out); they
    are the tie, not swaps. When the orders on the two sides of a tie differ (two norms cross
    exactly there), the crossing stays a swap, as the interval (i - 1, i + 1) around the tie.
    Neighbouring ties (the order flickers where norms stay within the tolerance) count as one run:
    (first - 1, last + 1).

    Returns
    -------
    (k, 2) int64 grid index pairs, sorted
    """
    if not len(ties):
        return intervals
    ties = np.sort(np.asarray(ties, dtype=np.int64))
    runs = np.split(ties, np.flatnonzero(np.diff(ties) > 1) + 1)
    covered = set()
    for run in runs:
        covered.update(range(int(run[0]), int(run[-1]) + 1))
    keep = [(int(a), int(b)) for a, b in intervals if a not in covered and b not in covered]
    for run in runs:
        lo, hi = int(run[0]) - 1, int(run[-1]) + 1
        a, b = perms[lo], perms[hi]
        if not np.array_equal(a, b) and all(np.abs(m[np.ix_(a, a)] - m[np.ix_(b, b)]).max() > rtol * scale
                                            for m in (cms[lo], cms[hi])):
            keep.append((lo, hi))
    return np.array(sorted(keep), dtype=np.int64).reshape(-1, 2)


def min_pair_distances(geometries: np.ndarray, atom: int | None = None) -> np.ndarray:
    """Smallest interatomic distance of each geometry: (g, n, 3) -> (g,), Angstrom (inf for 1 atom).

    With ``atom`` (the only atom that moves between geometries) the other pairs are measured
    once, so the cost is O(g n) instead of O(g n^2).
    """
    g, n = geometries.shape[:2]
    if n < 2:
        return np.full(g, np.inf)
    if atom is None:
        i, j = np.triu_indices(n, k=1)
        return np.linalg.norm(geometries[:, i] - geometries[:, j], axis=-1).min(axis=1)
    others = np.delete(np.arange(n), atom)
    fixed = np.inf
    if others.size > 1:
        i, j = np.triu_indices(others.size, k=1)
        rest = geometries[0, others]
        fixed = float(np.linalg.norm(rest[i] - rest[j], axis=-1).min())
    moving = np.linalg.norm(geometries[:, atom, None, :] - geometries[:, others, :], axis=-1).min(axis=1)
    return np.minimum(moving, fixed)


# ----------------------------------------------------------------------------------------
# Training sets and smoothness


def draw_training_sets(valid: np.ndarray, n_train: int, n_large: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training grid indices drawn at random from the valid points, seeded.

    The small set is the first ``n_train`` of one random permutation of the valid points and
    the large set its first ``n_large``, so the large set contains the small one when larger.

    Returns
    -------
    (n_train,), (n_large,) sorted int64 grid indices
    """
    pool = np.flatnonzero(valid)
    need = max(n_train, n_large)
    if pool.size < need:
        raise ScanError(f"only {pool.size} valid grid points for {need} training points: "
                        "widen the range, refine the step or train on fewer points")
    order = np.random.default_rng(seed).permutation(pool)
    return np.sort(order[:n_train]), np.sort(order[:n_large])


def jump_ratio(values: np.ndarray, reference: np.ndarray, valid: np.ndarray) -> float:
    """Largest |change| between neighbouring valid grid points of ``values``, over the reference's.

    About 1 for a curve as smooth as the reference; much larger for a curve with a jump.
    NaN when the reference is flat.
    """
    pairs = valid[:-1] & valid[1:]
    if not pairs.any():
        return float("nan")
    dv = np.abs(np.diff(values))[pairs].max()
    dr = np.abs(np.diff(reference))[pairs].max()
    return float(dv / dr) if dr > 0 else float("nan")


def normalize_energy(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Energies rescaled so that the reference spans [0, 1] (the paper's normalised E); NaN kept."""
    lo, hi = np.nanmin(reference), np.nanmax(reference)
    return (np.asarray(values, dtype=np.float64) - lo) / (hi - lo if hi > lo else 1.0)


def normalize_displacement(d: np.ndarray) -> np.ndarray:
    """Displacements divided by the largest |d| of the grid: [-1, 1] (the paper's normalised d)."""
    d = np.asarray(d, dtype=np.float64)
    scale = np.abs(d).max()
    return d / scale if scale > 0 else d


# ----------------------------------------------------------------------------------------
# Results


@dataclass
class ScanResult:
    """A displacement scan: reference, model predictions, training points, swap points.

    Attributes
    ----------
    d : (g,) displacements, Angstrom (whole grid)
    valid : (g,) bool; False where two atoms are closer than ``min_distance``
    reference : (g,) kcal/mol (NaN where invalid)
    models : model name -> (g,) predictions, kcal/mol (NaN where invalid)
    train_index : (n_train,) grid indices of the training points
    train_index_large : (n_train_large,) grid indices for ``l1_sorted_large`` (empty if off)
    swap_points : (k,) d at the midpoints of intervals where the sorted CM's order changes
    swap_intervals : (k, 2) grid index pairs (i, i + 1); (i - 1, j + 1) for a crossing exactly on the
        tie points i to j
    tie_points : (t,) d of the grid points where rows tie and the sorted order differs from both
        neighbours' (a one-point spike of sorted-CM models; see `tie_points`)
    tie_index : (t,) their grid indices
    jump_ratio : model -> largest jump between neighbours / the reference's largest jump
    hyperparameters : model -> (sigma, lambda) used
    axis : (3,) unit vector
    notice : a message for the user (left-out geometries), or None
    atom : the moving atom
    reference_name : which reference (`REFERENCES`)
    """

    d: np.ndarray
    valid: np.ndarray
    reference: np.ndarray
    models: dict[str, np.ndarray]
    train_index: np.ndarray
    train_index_large: np.ndarray
    swap_points: np.ndarray
    swap_intervals: np.ndarray
    jump_ratio: dict[str, float]
    hyperparameters: dict[str, tuple[float, float]]
    axis: np.ndarray
    notice: str | None = None
    atom: int = 0
    reference_name: str = "lj"
    loo_mae: dict[str, float] = field(default_factory=dict)
    tie_points: np.ndarray = field(default_factory=lambda: np.zeros(0))
    tie_index: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def to_json(self) -> dict:
        """Plain JSON-able dict, the ``wqml scan --json`` schema; NaN (invalid points) as null."""
        def floats(a):
            return [None if not np.isfinite(v) else float(v) for v in np.asarray(a, dtype=np.float64)]

        return {
            "d": floats(self.d),
            "valid": [bool(v) for v in self.valid],
            "reference": floats(self.reference),
            "reference_name": self.reference_name,
            "models": {k: floats(v) for k, v in self.models.items()},
            "train_index": [int(i) for i in self.train_index],
            "train_index_large": [int(i) for i in self.train_index_large],
            "swap_points": floats(self.swap_points),
            "swap_intervals": [[int(i), int(j)] for i, j in self.swap_intervals],
            "tie_points": floats(self.tie_points),
            "tie_index": [int(i) for i in self.tie_index],
            "jump_ratio": {k: (float(v) if np.isfinite(v) else None) for k, v in self.jump_ratio.items()},
            "hyperparameters": {k: {"sigma": float(s), "lambda": float(lam)}
                                for k, (s, lam) in self.hyperparameters.items()},
            "atom": int(self.atom),
            "axis": floats(self.axis),
            "notice": self.notice,
            "units": {"d": "Angstrom", "energy": "kcal/mol"},
        }

    def to_frame(self):
        """pandas DataFrame, one row per grid point: d, valid, reference, one column per model, is_train,
        is_train_large (with that model), is_tie (a tie point, `tie_points`)."""
        import pandas as pd

        frame = pd.DataFrame({"d": self.d, "valid": self.valid, "reference": self.reference})
        for name, values in self.models.items():
            frame[name] = values
        is_train = np.zeros(self.d.size, dtype=bool)
        is_train[self.train_index] = True
        frame["is_train"] = is_train
        if "l1_sorted_large" in self.models:
            large = np.zeros(self.d.size, dtype=bool)
            large[self.train_index_large] = True
            frame["is_train_large"] = large
        is_tie = np.zeros(self.d.size, dtype=bool)
        is_tie[self.tie_index] = True
        frame["is_tie"] = is_tie
        return frame


class ScanEngine:
    """A displacement scan with everything that does not depend on the training set cached.

    Construction computes the axis, grid, geometries, validity, Coulomb matrices (sorted,
    unsorted, random order), the W1 representation, swap points and the reference energies.
    `result` then only draws or takes training points and fits the models.

    Parameters
    ----------
    mol : the molecule
    settings : `ScanSettings`; read once (copy the values you change into a new engine,
        except ``models``, ``n_train``, ``n_train_large``, ``seed``, ``sigma``, ``lam``, which
        `result` reads each time it is called)

    Raises
    ------
    ScanError, ReferenceError (both ValueError) for settings or molecules that make no scan.
    """

    def __init__(self, mol: Molecule, settings: ScanSettings):
        if len(mol) < 2:
            raise ScanError("a single atom has nothing to move against: the scan needs at least two atoms")
        self.mol = mol
        self.settings = settings
        if not np.isfinite(settings.min_distance):
            raise ScanError(f"the collision distance must be a finite number of Angstrom, got {settings.min_distance}")
        self.atom = int(settings.atom)
        self.axis = scan_axis(mol, settings)
        self.d = scan_grid(settings.d_min, settings.d_max, settings.step)
        size = self.d.size * vector_length(len(mol))
        if size > MAX_REPRESENTATION_SIZE:
            raise ScanError(f"{self.d.size} grid points of a {len(mol)}-atom molecule are too many for the scan "
                            f"(at most {MAX_REPRESENTATION_SIZE // vector_length(len(mol))}): use a larger step "
                            "or a shorter range")
        self.geometries = displaced_coords(mol, self.atom, self.axis, self.d)
        closest = min_pair_distances(self.geometries, self.atom)
        self.valid = (closest >= settings.min_distance) & (closest > 0)  # coinciding atoms: no CM at all
        n_bad = int((~self.valid).sum())
        if not self.valid.any():
            raise ScanError(f"every geometry of the scan has two atoms closer than {settings.min_distance:g} Å "
                            "(the collision distance): shorten the range, choose another axis or lower the "
                            "collision distance")
        notices = []
        if settings.axis == "normal" and is_linear(mol.coords):
            notices.append("The molecule is linear and has no molecular plane: the atom moves perpendicular "
                           f"to the line, along ({', '.join(f'{v:+.2f}' for v in self.axis)})")
        if n_bad:
            lo, hi = self.d[~self.valid].min(), self.d[~self.valid].max()
            why = (f"atoms closer than {settings.min_distance:g} Å" if settings.min_distance > 0
                   else "atoms on top of each other")
            notices.append(f"{n_bad} of {self.d.size} geometries left out (d from {lo:+.2f} to {hi:+.2f} Å): {why}")
        self.rows = np.flatnonzero(self.valid)
        good = self.geometries[self.rows]
        cms = ScanCoulombMatrices(mol.charges, mol.coords, self.atom, self.geometries)
        perms = cms.permutations()
        perms[~self.valid] = 0
        self.permutations = perms  # (g, n), zeros where invalid
        scale = cms.scale()
        self.tie_index = tie_points(cms, perms, self.valid, scale=scale)
        self.tie_points = self.d[self.tie_index]
        self.swap_intervals = split_ties(cms, swap_intervals(cms, perms, self.valid, scale=scale), self.tie_index,
                                         perms, scale=scale)
        self.swap_points = (self.d[self.swap_intervals[:, 0]] + self.d[self.swap_intervals[:, 1]]) / 2 \
            if len(self.swap_intervals) else np.zeros(0)
        if len(self.tie_index):
            i = int(self.tie_index[0])
            tied = sorted({int(a) for side in (perms[i - 1], perms[i + 1]) for a, b in zip(perms[i], side, strict=True)
                           if a != b})
            atoms = ", ".join(f"{mol.symbols[a]}{a}" for a in tied if mol.charges[a] > 1) or \
                ", ".join(f"{mol.symbols[a]}{a}" for a in tied)
            where = ", ".join(f"{v:+.2f}" for v in self.tie_points)
            notices.append(f"Tie at d = {where} Å: rows with equal norms ({atoms} at d = {self.d[i]:+.2f} Å, as "
                           "at a symmetric geometry) are sorted there in another order than on either side, so "
                           "sorted-CM models show a one-point spike (a tie, marked apart from the swap points)")
        self.reference_name = settings.reference
        reference = np.full(self.d.size, np.nan)
        reference[self.rows] = reference_energies(settings.reference, mol, good)
        if not np.isfinite(reference[self.rows]).all():
            raise ReferenceError("the reference energy is not finite along the scan")
        self.reference = reference
        steep = steep_reference_notice(settings.reference, mol, self.d, self.geometries, reference)
        if steep:
            notices.append(steep)
        self.notice = "; ".join(notices) or None
        self._charges = mol.charges
        self._good = good
        self._features: dict[tuple[str, str], np.ndarray] = {}
        self._seed = int(settings.seed)
        for name in settings.models:
            self.features(*MODEL_SPECS[name][:2])

    def features(self, metric: str, order: str) -> np.ndarray:
        """Prepared representations of the valid geometries for ``metric``: (g_valid, n(n+1)/2).

        Random order: a different seeded permutation per geometry, as for the molecules of a
        data set (the paper's 'random' CMs).
        """
        key = ("w1" if metric == "w1" else "l", "sorted" if metric == "w1" else order)  # L1 and L2 share X
        if key not in self._features:
            n, g = len(self.mol), self.rows.size
            offsets = np.arange(g + 1, dtype=np.int64) * n
            X = coulomb_vectors(np.tile(self._charges, g), self._good.reshape(-1, 3), offsets, n,
                                order=key[1], seed=self._seed)
            self._features[key] = prepare(metric, X)
        return self._features[key]

    def train_sets(self, seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Seeded training grid indices (small, large) for the engine's settings."""
        s = self.settings
        large = min(s.n_train_large, self.rows.size) if "l1_sorted_large" in s.models else 0
        return draw_training_sets(self.valid, s.n_train, large, s.seed if seed is None else seed)

    def result(self, train_index=None, *, models=None, seed: int | None = None) -> ScanResult:
        """Fit the models and predict along the scan.

        Parameters
        ----------
        train_index : grid indices of the training points (valid, distinct, at least 2);
            None draws ``settings.n_train`` of them with ``seed``
        models : model names (default ``settings.models``)
        seed : training-set seed (default ``settings.seed``)
        """
        s = self.settings
        models = list(s.models if models is None else models)
        unknown = [m for m in models if m not in MODEL_SPECS]
        if unknown:
            raise ScanError(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
        seed = s.seed if seed is None else seed
        for label, value in (("sigma", s.sigma), ("lambda", s.lam)):
            if value is not None and not np.isfinite(value):
                raise ScanError(f"{label} must be a finite number (or empty: chosen automatically), got {value}")
        n_large = s.n_train_large if "l1_sorted_large" in models else 0
        notice = self.notice
        if n_large > self.rows.size:  # a coarse grid: the large set takes every valid point
            n_large = self.rows.size
            notice = "; ".join(filter(None, [notice, f"the large training set has all {n_large} valid grid points"]))
        small, large = draw_training_sets(self.valid, s.n_train if train_index is None else 2, n_large, seed)
        if train_index is not None:
            small = self._check_train_index(train_index)
        position = np.full(self.d.size, -1, dtype=np.int64)
        position[self.rows] = np.arange(self.rows.size)
        out, hyper, loo, ratios = {}, {}, {}, {}
        with single_threaded():
            for name in models:
                out[name], hyper[name], loo[name] = self._fit_model(name, small, large, position)
                ratios[name] = jump_ratio(out[name], self.reference, self.valid)
        return ScanResult(d=self.d, valid=self.valid, reference=self.reference, models=out,
                          train_index=small, train_index_large=large if n_large else np.zeros(0, dtype=np.int64),
                          swap_points=self.swap_points, swap_intervals=self.swap_intervals,
                          jump_ratio=ratios, hyperparameters=hyper, axis=self.axis, notice=notice,
                          atom=self.atom, reference_name=self.reference_name, loo_mae=loo,
                          tie_points=self.tie_points, tie_index=self.tie_index)

    def _fit_model(self, name: str, small: np.ndarray, large: np.ndarray, position: np.ndarray):
        """One model: (predictions (g,), (sigma, lambda), LOO MAE)."""
        metric, order, uses_large = MODEL_SPECS[name]
        train = large if uses_large else small
        X = self.features(metric, order)
        tr = position[train]
        d_query = distances(metric, X, X[tr], presorted=True)  # (g_valid, n_train)
        d_train = np.ascontiguousarray(d_query[tr])
        y = self.reference[train]
        hp = select_hyperparameters(d_train, y - y.mean(), metric, sigma=self.settings.sigma, lam=self.settings.lam)
        pred = np.full(self.d.size, np.nan)
        pred[self.rows] = fit_predict(d_train, d_query, y, metric, hp.sigma, hp.lam)
        return pred, (hp.sigma, hp.lam), hp.loo_mae

    def _check_train_index(self, train_index) -> np.ndarray:
        idx = np.asarray(train_index)
        if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
            raise ScanError("training points must be a list of grid indices")
        idx = np.unique(idx.astype(np.int64))
        if idx.size < 2:
            raise ScanError("at least 2 training points are needed")
        if idx.min() < 0 or idx.max() >= self.d.size:
            raise ScanError(f"training indices must lie between 0 and {self.d.size - 1}")
        if not self.valid[idx].all():
            raise ScanError("a training point lies where atoms collide (left out of the scan)")
        return idx

    def geometry_at(self, d: float) -> np.ndarray:
        """Coordinates (n, 3), Angstrom, with the atom moved by ``d`` (any value, on the grid or not)."""
        return displaced_coords(self.mol, self.atom, self.axis, float(d))

    def cm_at(self, d: float) -> tuple[np.ndarray, np.ndarray]:
        """Sorted Coulomb matrix (n, n) and its permutation (n,) at displacement ``d`` (any value).

        Raises `ScanError` when two atoms coincide at ``d``.
        """
        try:
            return sorted_cm(self.mol.charges, self.geometry_at(d))
        except ValueError as exc:
            raise ScanError(f"no Coulomb matrix at d = {d:g} Å: {exc}") from None

    def cdfs_at(self, d: float) -> tuple[np.ndarray, np.ndarray, float]:
        """The entries behind W1: both empirical CDFs and the area between them.

        Returns
        -------
        x_d : (n(n+1)/2,) Coulomb-matrix entries at ``d``, sorted ascending (the CDF steps)
        x_0 : (n(n+1)/2,) the same at d = 0
        w1 : the W1 distance between them, ``mean(|x_d - x_0|)`` (the area between the CDFs)
        """
        iu = np.triu_indices(len(self.mol))
        x_d = np.sort(self.cm_at(d)[0][iu])
        x_0 = np.sort(self.cm_at(0.0)[0][iu])
        return x_d, x_0, float(np.abs(x_d - x_0).mean())

    def distances_to_zero(self) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """W1 and sorted-L1 distance of the CM at every grid point to the undisplaced CM.

        Returns
        -------
        distances : {"w1", "l1"} -> (g,) distances (NaN where atoms collide); empty if the input
            geometry itself has two atoms on one spot
        zero_entries : (n(n+1)/2,) the undisplaced CM's entries sorted ascending, or None
        """
        try:
            zero = vectorize(self.cm_at(0.0)[0])[None]
        except ValueError:  # two atoms of the input share a position
            return {}, None
        out = {}
        for metric in ("w1", "l1"):
            d = np.full(self.d.size, np.nan)
            d[self.rows] = distances(metric, self.features(metric, "sorted"), prepare(metric, zero),
                                     presorted=True)[:, 0]
            out[metric] = d
        return out, prepare("w1", zero)[0]

    def index_of(self, d: float) -> int:
        """The grid index nearest to ``d``."""
        return int(np.abs(self.d - float(d)).argmin())


def settings_for_example(key: str, **overrides) -> ScanSettings:
    """`ScanSettings` with the atom, axis (and partner) of teaching example ``key``."""
    from .molecule import TEACHING_EXAMPLES

    if key not in TEACHING_EXAMPLES:
        raise ScanError(f"unknown example {key!r}; choose one of {list(TEACHING_EXAMPLES)}")
    e = TEACHING_EXAMPLES[key]
    values = {"atom": e.atom, "axis": e.axis, "partner": e.partner}
    values.update(overrides)
    return ScanSettings(**values)


def run_scan(mol: Molecule, settings: ScanSettings | None = None, train_index=None) -> ScanResult:
    """One displacement scan (`ScanEngine` then `ScanEngine.result`)."""
    return ScanEngine(mol, settings or ScanSettings()).result(train_index)


#: Column names of `scan_csv`, with their units.
CSV_UNITS = {"d": "d [Angstrom]", "reference": "reference [kcal/mol]"}


def scan_csv(result: ScanResult, mol: Molecule, settings: ScanSettings) -> str:
    """The scan as CSV text: a commented header that states the setup, then one row per grid point.

    The header (lines starting with ``#``; ``pandas.read_csv(path, comment="#")`` skips them) names
    the molecule, moving atom, axis, range and step, collision distance, reference, training points
    and seed, each model's sigma and lambda, the swap and tie points, and the units. Columns carry
    their units: ``d [Angstrom]``, ``reference [kcal/mol]``, one ``<model> [kcal/mol]`` per model,
    then ``valid``, ``is_train``, ``is_train_large`` (with that model) and ``is_tie``.
    Energies and d are in physical units even when the app displays them normalised.
    """
    frame = result.to_frame()
    frame = frame.rename(columns={**CSV_UNITS, **{m: f"{m} [kcal/mol]" for m in result.models}})
    front = ["d [Angstrom]", "reference [kcal/mol]", *(f"{m} [kcal/mol]" for m in result.models)]
    frame = frame[front + [c for c in frame.columns if c not in front]]
    sym = mol.symbols
    axis = ", ".join(f"{v:+.4f}" for v in result.axis)
    partner = f", partner atom {settings.partner} ({sym[settings.partner]})" \
        if settings.axis == "bond" and settings.partner is not None else ""
    step = float(result.d[1] - result.d[0]) if result.d.size > 1 else float(settings.step)

    def points(values):
        return ", ".join(f"{v:+.3f}" for v in values) or "none"

    lines = [
        "wqml-dash displacement scan (the paper's Fig. 2)",
        f"molecule: {mol.name} ({mol.formula}, {len(mol)} atoms; source {mol.source}"
        + (f"; SMILES {mol.smiles}" if mol.smiles else "") + ")",
        f"moving atom: {result.atom} ({sym[result.atom]})",
        f"axis: {settings.axis}{partner}, unit vector ({axis})",
        f"range: d from {result.d[0]:g} to {result.d[-1]:g} Angstrom, step {step:g} Angstrom, "
        f"{result.d.size} grid points ({int(result.valid.sum())} valid)",
        f"collision distance: {settings.min_distance:g} Angstrom (closer geometries left out: valid = False)",
        f"reference energy: {result.reference_name} (kcal/mol)",
        f"training points: {len(result.train_index)}, seed {settings.seed}"
        + (f"; large training set: {len(result.train_index_large)}" if len(result.train_index_large) else ""),
    ]
    def how(value):
        return "chosen by leave-one-out cross-validation" if value is None else "given"

    for name, (sigma, lam) in result.hyperparameters.items():
        lines.append(f"model {name} ({MODEL_LABELS.get(name, name)}): sigma = {sigma:.6g} (units of the CM "
                     f"distance, {how(settings.sigma)}), lambda = {lam:.3g} (dimensionless, {how(settings.lam)})")
    lines += [
        f"swap points: {points(result.swap_points)} Angstrom",
        f"tie points: {points(result.tie_points)} Angstrom",
        "units: d in Angstrom, energies in kcal/mol; empty cells where atoms collide",
    ]
    header = "".join(f"# {line}\n" for line in lines)
    return header + frame.to_csv(index=False)
