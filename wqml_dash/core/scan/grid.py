"""The geometry of a scan: the axis an atom moves along, the grid of displacements, the displaced
geometries and their closest contacts, the training points drawn from the grid, normalised units."""

from __future__ import annotations

import numpy as np

from .molecule import Molecule
from .settings import AXES, MAX_GRID_POINTS, ScanError, ScanSettings

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


def normalize_energy(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Energies rescaled so that the reference spans [0, 1] (the paper's normalised E); NaN kept."""
    lo, hi = np.nanmin(reference), np.nanmax(reference)
    return (np.asarray(values, dtype=np.float64) - lo) / (hi - lo if hi > lo else 1.0)


def normalize_displacement(d: np.ndarray) -> np.ndarray:
    """Displacements divided by the largest |d| of the grid: [-1, 1] (the paper's normalised d)."""
    d = np.asarray(d, dtype=np.float64)
    scale = np.abs(d).max()
    return d / scale if scale > 0 else d


def nearest_index(grid: np.ndarray, d: float) -> int:
    """The index of the grid point nearest to ``d`` (Angstrom)."""
    return int(np.abs(np.asarray(grid) - float(d)).argmin())
