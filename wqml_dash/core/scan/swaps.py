"""The sorted Coulomb matrix along a scan: where its row order swaps or ties, and how much a curve jumps.

A sorted-CM model jumps where two rows' norms cross (a swap) and spikes at a grid point where equal
norms are sorted in another order than on both sides (a tie); W1 does neither. `jump_ratio` measures
how far a curve's largest step stands out against the local change of the curve and of the reference.
"""

from __future__ import annotations

import numpy as np

from ..features.coulomb_matrix import coulomb_matrix, order_permutation

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


#: A step of a curve whose `step_ratios` exceeds this is a jump ("a ratio well above 1"). On 366 default
#: scans of 61 QM9 molecules (benchmarks/scan_sample.py, two training sets each) W1's largest ratio had a
#: median of 1.03, 95 % below 1.5, exceeded 2 in 4 scans and 3 in one, at a kink of the kernel at a
#: training point; every step of L1 sorted above 3 lay at a swap point or a tie (ratios 10 to 50) but
#: one, at a training point, where the fit's lambda of 1e-10 made the kernel's kink a step.
JUMP_THRESHOLD = 3.0


def _running_median3(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Each valid point replaced by the median of itself and its two neighbours (when both are valid)."""
    out = np.where(valid, values, np.nan)
    inner = np.zeros(values.size, dtype=bool)
    inner[1:-1] = valid[:-2] & valid[1:-1] & valid[2:]
    if inner.any():
        k = np.flatnonzero(inner)
        out[k] = np.median(np.stack([values[k - 1], values[k], values[k + 1]]), axis=0)
    return out


def _side_means(steps: np.ndarray, width: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the ``width`` values before and after each position, NaN ones left out (NaN if none)."""
    pad = np.pad(steps, width, constant_values=np.nan)
    n = steps.size
    left = np.stack([pad[k: k + n] for k in range(width)])
    right = np.stack([pad[width + 1 + k: width + 1 + k + n] for k in range(width)])

    def mean(block):
        count = np.isfinite(block).sum(axis=0)
        total = np.where(np.isfinite(block), block, 0.0).sum(axis=0)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    return mean(left), mean(right)


def step_ratios(values: np.ndarray, reference: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """How much each step of a curve stands out against the local change: (g - 1,), NaN where left out.

    The step of interval i is ``s_i = |values[i + 1] - values[i]|`` (both points valid). It is divided by
    the local scale, the largest of

    - the curve's typical step on its left and on its right: the mean of its two steps before and of
      its two steps after interval i, measured on the curve after a 3-point running median (which
      removes one-point spikes, so that the two halves of a tie's spike do not hide each other);
    - the reference's largest step among intervals i - 1, i and i + 1 (a steep reference, such as a
      repulsive wall, explains a steep model there);
    - the reference's median step over the scan (a floor where both curves are flat).

    A smooth curve, however steep, changes about as much as on at least one side: ratio about 1 (a
    kink at a training point, where the slope changes abruptly, stays below about 2). A jump at a swap
    point, or a one-point spike at a tie, is a step far larger than the steps around it and than the
    reference's there: ratios of 10 to 50.

    Parameters
    ----------
    values : (g,) the curve, kcal/mol
    reference : (g,) the reference, kcal/mol
    valid : (g,) bool; steps touching an invalid point are NaN and not used for any scale

    Returns
    -------
    (g - 1,) dimensionless ratios; NaN where either end is invalid or the local scale is zero
    """
    values = np.asarray(values, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    pairs = valid[:-1] & valid[1:]
    out = np.full(pairs.size, np.nan)
    if not pairs.any():
        return out
    step = np.where(pairs, np.abs(np.diff(values)), np.nan)
    ref = np.where(pairs, np.abs(np.diff(reference)), np.nan)
    smooth = np.where(pairs, np.abs(np.diff(_running_median3(values, valid))), np.nan)
    left, right = _side_means(smooth)
    near = np.stack([np.pad(ref, 1, constant_values=np.nan)[k: k + ref.size] for k in range(3)])
    scales = np.vstack([left, right, near, np.full(ref.size, np.nanmedian(ref[pairs]))])
    scales[~np.isfinite(scales)] = 0.0
    scale = scales.max(axis=0)
    ok = pairs & (scale > 0)
    out[ok] = step[ok] / scale[ok]
    return out


def jump_ratio(values: np.ndarray, reference: np.ndarray, valid: np.ndarray) -> float:
    """The curve's largest `step_ratios`: about 1 when smooth, above `JUMP_THRESHOLD` where it jumps.

    NaN when no step has a scale (no two neighbouring valid points, or a flat reference and curve).
    """
    ratios = step_ratios(values, reference, valid)
    return float(np.nanmax(ratios)) if np.isfinite(ratios).any() else float("nan")


def jump_intervals(values: np.ndarray, reference: np.ndarray, valid: np.ndarray,
                   threshold: float = JUMP_THRESHOLD) -> np.ndarray:
    """Grid intervals (i, i + 1) where the curve jumps: `step_ratios` above ``threshold``: (k, 2) int64."""
    ratios = step_ratios(values, reference, valid)
    i = np.flatnonzero(np.nan_to_num(ratios, nan=0.0) > threshold)
    return np.stack([i, i + 1], axis=1).astype(np.int64).reshape(-1, 2)
