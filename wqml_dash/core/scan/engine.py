"""Displacement scans (the paper's Fig. 2): move one atom along an axis, compare KRR models.

Atom ``a`` moves along the unit axis ``u``: ``R_a(d) = R_a + d u`` for d on a grid (default
[-1, 1] Angstrom in steps of 0.01). Geometries where two atoms collide (closer than
``min_distance``; by default closer than 0.6 of the sum of their covalent radii) or where the
reference rises more than ``max_energy`` (default 1,000 kcal/mol) above its minimum over the scan
are flagged and never reach the Coulomb matrix or a model. Along the valid grid we draw ``n_train``
training points (seeded), fit KRR models on Coulomb matrices with different metrics and atom orders,
and predict the whole curve.

`ScanEngine` does the geometry-dependent work once (geometries, Coulomb matrices per order,
reference energies, swap points); `ScanEngine.result` only fits and predicts, which for
201 grid points takes milliseconds (tens with all six models).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..features.coulomb_matrix import coulomb_vectors, vector_length, vectorize
from ..learn.cv import select_by_loo
from ..learn.metrics import distances, prepare
from .grid import (below_ceiling, collision_free, collision_text, displaced_coords, draw_training_sets, is_linear,
                   left_out_notices, nearest_index, normalize_displacement, normalize_energy, scan_axis, scan_grid)
from .models import MODEL_LABELS, SCAN_MODELS, fit_predict, single_threaded
from .molecule import Molecule
from .reference_energies import REFERENCE_HELP, REFERENCES, ReferenceError, reference_energies, steep_reference_notice
from .settings import AXES, DEFAULT_MODELS, MAX_REPRESENTATION_SIZE, MODELS, ScanError, ScanSettings
from .swaps import ScanCoulombMatrices, jump_ratio, sorted_cm, split_ties, swap_intervals, tie_points

# The names of a scan, importable from here as before the module was split (README, notebooks).
__all__ = ["AXES", "REFERENCES", "REFERENCE_HELP", "MODELS", "MODEL_LABELS", "DEFAULT_MODELS", "ScanError",
           "ScanSettings", "ScanResult", "ScanEngine", "run_scan", "scan_axis", "is_linear", "displaced_coords",
           "sorted_cm", "scan_grid", "settings_for_example", "scan_csv",
           "normalize_energy", "normalize_displacement", "draw_training_sets", "swap_intervals", "tie_points",
           "jump_ratio"]


@dataclass
class ScanResult:
    """A displacement scan: reference, model predictions, training points, swap points.

    Attributes
    ----------
    d : (g,) displacements, Angstrom (whole grid)
    valid : (g,) bool; False where two atoms collide (`grid.collision_free`) or the reference lies more
        than ``max_energy`` above its minimum (`grid.below_ceiling`)
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
    jump_ratio : model -> its largest step between neighbouring grid points over the local change of the
        model and the reference there (`swaps.step_ratios`): about 1 when smooth, above
        `swaps.JUMP_THRESHOLD` (3) where it jumps
    hyperparameters : model -> (sigma, lambda) used
    axis : (3,) unit vector
    notice : the notices joined by '; ' (None if there are none)
    notices : messages for the user: left-out geometries, a linear molecule, ties, a reference spanning
        more than `reference_energies.STEEP_REFERENCE` kcal/mol, a large training set of every point
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
    notices: list[str] = field(default_factory=list)

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
            "notices": list(self.notices),
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
        if settings.min_distance is not None and not np.isfinite(settings.min_distance):
            raise ScanError(f"the collision distance must be a finite number of Angstrom, got {settings.min_distance}")
        if settings.max_energy is not None and not settings.max_energy > 0:
            raise ScanError(f"the energy ceiling must be a positive number of kcal/mol, got {settings.max_energy}")
        self.atom = int(settings.atom)
        self.axis = scan_axis(mol, settings)
        self.d = scan_grid(settings.d_min, settings.d_max, settings.step)
        size = self.d.size * vector_length(len(mol))
        if size > MAX_REPRESENTATION_SIZE:
            raise ScanError(f"{self.d.size} grid points of a {len(mol)}-atom molecule are too many for the scan "
                            f"(at most {MAX_REPRESENTATION_SIZE // vector_length(len(mol))}): use a larger step "
                            "or a shorter range")
        self.geometries = displaced_coords(mol, self.atom, self.axis, self.d)
        apart = collision_free(mol, self.atom, self.geometries, settings.min_distance)
        if not apart.any():
            limit = collision_text(settings.min_distance)
            raise ScanError(f"every geometry of the scan has two atoms closer than {limit} (the collision "
                            "distance): shorten the range, choose another axis or lower the collision distance")
        self.reference_name = settings.reference
        reference = np.full(self.d.size, np.nan)
        reference[apart] = reference_energies(settings.reference, mol, self.geometries[apart])
        if not np.isfinite(reference[apart]).all():
            raise ReferenceError("the reference energy is not finite along the scan")
        self.valid = apart & below_ceiling(reference, settings.max_energy)
        reference[~self.valid] = np.nan
        self.reference = reference
        notices = []
        if settings.axis == "normal" and is_linear(mol.coords):
            notices.append("The molecule is linear and has no molecular plane: the atom moves perpendicular "
                           f"to the line, along ({', '.join(f'{v:+.2f}' for v in self.axis)})")
        notices += left_out_notices(self.d, apart, self.valid, settings.min_distance, settings.max_energy)
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
        steep = steep_reference_notice(settings.reference, mol, self.d, self.geometries, reference)
        if steep:
            notices.append(steep)
        self.notices = notices
        self.notice = "; ".join(notices) or None
        self._charges = mol.charges
        self._good = good
        self._features: dict[tuple[str, str], np.ndarray] = {}
        self._seed = int(settings.seed)
        for name in settings.models:
            self.features(SCAN_MODELS[name].series.metric, SCAN_MODELS[name].series.order)

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
        unknown = [m for m in models if m not in SCAN_MODELS]
        if unknown:
            raise ScanError(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
        seed = s.seed if seed is None else seed
        for label, value in (("sigma", s.sigma), ("lambda", s.lam)):
            if value is not None and not np.isfinite(value):
                raise ScanError(f"{label} must be a finite number (or empty: chosen automatically), got {value}")
        n_large = s.n_train_large if "l1_sorted_large" in models else 0
        notices = list(self.notices)
        if n_large > self.rows.size:  # a coarse grid: the large set takes every valid point
            n_large = self.rows.size
            notices.append(f"the large training set has all {n_large} valid grid points")
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
                          jump_ratio=ratios, hyperparameters=hyper, axis=self.axis, notice="; ".join(notices) or None,
                          notices=notices,
                          atom=self.atom, reference_name=self.reference_name, loo_mae=loo,
                          tie_points=self.tie_points, tie_index=self.tie_index)

    def _fit_model(self, name: str, small: np.ndarray, large: np.ndarray, position: np.ndarray):
        """One model: (predictions (g,), (sigma, lambda), LOO MAE)."""
        model = SCAN_MODELS[name]
        metric, order = model.series.metric, model.series.order
        train = large if model.large else small
        X = self.features(metric, order)
        tr = position[train]
        d_query = distances(metric, X, X[tr], presorted=True)  # (g_valid, n_train)
        d_train = np.ascontiguousarray(d_query[tr])
        y = self.reference[train]
        hp = select_by_loo(d_train, y - y.mean(), metric, sigma=self.settings.sigma, lam=self.settings.lam)
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
        return nearest_index(self.d, d)


def settings_for_example(key: str, **overrides) -> ScanSettings:
    """`ScanSettings` with the atom, axis (and partner) of teaching example ``key``."""
    from .examples import TEACHING_EXAMPLES

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
        f"collision distance: {collision_text(settings.min_distance).replace('Å', 'Angstrom')} (closer "
        "geometries left out: valid = False)",
        "energy ceiling: " + ("none" if settings.max_energy is None else
                              f"{settings.max_energy:g} kcal/mol above the reference's minimum (higher geometries "
                              "left out: valid = False)"),
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
