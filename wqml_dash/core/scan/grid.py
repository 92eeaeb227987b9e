"""The geometry of a scan: the axis an atom moves along, the grid of displacements, the displaced
geometries and their closest contacts, the training points drawn from the grid, normalised units."""

from __future__ import annotations

import numpy as np

from .molecule import Molecule
from .settings import AXES, COLLISION_FRACTION, MAX_GRID_POINTS, ScanError, ScanSettings


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

def covalent_radii(charges: np.ndarray) -> np.ndarray:
    """Covalent radii (n,), Angstrom, of nuclear charges (n,): RDKit's periodic table (Cordero et al. 2008)."""
    from rdkit import Chem

    table = Chem.GetPeriodicTable()
    return np.array([table.GetRcovalent(int(z)) for z in np.asarray(charges)], dtype=np.float64)


def collision_distances(mol: Molecule, atom: int, fraction: float = COLLISION_FRACTION) -> np.ndarray:
    """The chemical collision distance (n,), Angstrom, of the moving ``atom`` to every atom.

    ``fraction`` of the sum of the two covalent radii, or the pair's distance in the input geometry
    where that is shorter (the input geometry always stays in the scan); 0 for ``atom`` itself.
    """
    rc = covalent_radii(mol.charges)
    r0 = np.linalg.norm(mol.coords - mol.coords[atom], axis=1)
    out = np.minimum(fraction * (rc[atom] + rc), r0)
    out[atom] = 0.0
    return out


def collision_free(mol: Molecule, atom: int, geometries: np.ndarray, min_distance: float | None) -> np.ndarray:
    """Which geometries (g, n, 3) of a scan moving ``atom`` have no two atoms too close: (g,) bool.

    ``min_distance`` in Angstrom: every pair at least that far apart (and none on one spot). None:
    the chemical cut-off, the moving atom at least `collision_distances` from every other atom
    (the other pairs do not change along the scan).
    """
    if min_distance is not None:
        closest = min_pair_distances(geometries, atom)
        return (closest >= min_distance) & (closest > 0)  # coinciding atoms: no CM at all
    limit = collision_distances(mol, atom)
    r = np.linalg.norm(geometries[:, atom, None, :] - geometries, axis=-1)  # (g, n)
    r[:, atom] = np.inf
    return ((r >= limit) & (r > 0)).all(axis=1) & (min_pair_distances(geometries, atom) > 0)


def below_ceiling(reference: np.ndarray, max_energy: float | None) -> np.ndarray:
    """Grid points (g,) whose reference (g,), kcal/mol, NaN where left out, is at most ``max_energy`` above its
    minimum over the scan (all finite points when ``max_energy`` is None): (g,) bool."""
    finite = np.isfinite(reference)
    if max_energy is None or not finite.any():
        return finite
    with np.errstate(invalid="ignore"):
        return finite & (reference - np.nanmin(reference) <= max_energy)


def collision_text(min_distance: float | None) -> str:
    """How the collision distance reads in a message: '0.5 Å' or the chemical rule."""
    if min_distance is None:
        return f"{COLLISION_FRACTION:g} of the sum of their covalent radii"
    return f"{min_distance:g} Å"


def left_out_notices(d: np.ndarray, apart: np.ndarray, valid: np.ndarray, min_distance: float | None,
                     max_energy: float | None) -> list[str]:
    """The notice on geometries left out of a scan (an empty list when none is).

    ``d`` (g,) Angstrom; ``apart`` (g,) no collision (`collision_free`); ``valid`` (g,) also below the
    energy ceiling (`below_ceiling`).
    """
    bad = ~valid
    if not bad.any():
        return []
    close, high = int((~apart).sum()), int((apart & ~valid).sum())
    reasons = []
    if close:
        why = f"atoms closer than {collision_text(min_distance)}" if min_distance != 0 else "atoms on top of each other"
        reasons.append(why if not high else f"{close} with {why}")
    if high:
        why = f"the reference more than {max_energy:,.0f} kcal/mol above its minimum (the energy ceiling)"
        reasons.append(why if not close else f"{high} with {why}")
    lo, hi = d[bad].min(), d[bad].max()
    return [f"{int(bad.sum())} of {d.size} geometries left out (d from {lo:+.2f} to {hi:+.2f} Å): "
            + " and ".join(reasons)]


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
