"""Displacement scans: axes, grid, swap points, collisions, models, LOO-CV, smoothness."""

from __future__ import annotations

import numpy as np
import pytest

from wqml_dash.core.learn.cv import loo_residuals, select_by_loo
from wqml_dash.core.learn.kernels import kernel_from_distances
from wqml_dash.core.learn.solvers import solve_krr
from wqml_dash.core.scan.settings import MODELS, ScanError, ScanSettings
from wqml_dash.core.scan.engine import ScanEngine, run_scan, settings_for_example
from wqml_dash.core.scan.grid import displaced_coords, draw_training_sets, scan_axis, scan_grid
from wqml_dash.core.scan.swaps import jump_ratio, sorted_cm, swap_intervals
from wqml_dash.core.scan.examples import TEACHING_EXAMPLES, molecule_from_example
from wqml_dash.core.scan.molecule import Molecule, MoleculeError


def hand_molecule():
    """C at the origin, H1 on x at 1.0 Å, H2 on y at 1.105 Å: H1 moving along +x overtakes H2."""
    return Molecule(np.array([6, 1, 1]), np.array([[0.0, 0, 0], [1.0, 0, 0], [0, 1.105, 0]]),
                    np.array([[0, 1], [0, 2]]), "CH2 by hand", None, "test")


@pytest.fixture(scope="module")
def formic_acid():
    return molecule_from_example("formic_acid")


def test_grid_and_displacement():
    d = scan_grid(-1, 1, 0.01)
    assert d.size == 201 and d[100] == 0.0 and d[0] == -1.0 and d[-1] == 1.0
    assert scan_grid(0, 0.25, 0.1).tolist() == [0.0, 0.1, 0.2]
    for bad in [(1, -1, 0.01), (0, 1, 0), (0, np.inf, 0.1), (0, 1000, 0.001)]:
        with pytest.raises(ScanError):
            scan_grid(*bad)
    mol = hand_molecule()
    moved = displaced_coords(mol, 1, np.array([1.0, 0, 0]), np.array([0.0, 0.5]))
    assert moved.shape == (2, 3, 3)
    np.testing.assert_allclose(moved[1, 1], [1.5, 0, 0])
    np.testing.assert_array_equal(moved[:, [0, 2]], np.broadcast_to(mol.coords[[0, 2]], (2, 2, 3)))


def test_axes():
    mol = hand_molecule()  # lies in the xy plane
    np.testing.assert_allclose(scan_axis(mol, ScanSettings(atom=1)), [0, 0, 1], atol=1e-12)
    np.testing.assert_allclose(scan_axis(mol, ScanSettings(atom=1, axis="y")), [0, 1, 0])
    np.testing.assert_allclose(scan_axis(mol, ScanSettings(atom=1, axis="bond", partner=0)), [-1, 0, 0])
    np.testing.assert_allclose(scan_axis(mol, ScanSettings(atom=1, axis="custom", custom_axis=(3, 0, 4))),
                               [0.6, 0, 0.8])
    for settings, message in [(ScanSettings(atom=5), "atom 5 does not exist"),
                              (ScanSettings(atom=1, axis="bond"), "partner"),
                              (ScanSettings(atom=1, axis="bond", partner=1), "differ"),
                              (ScanSettings(atom=1, axis="custom", custom_axis=(0, 0, 0)), "non-zero")]:
        with pytest.raises(ScanError, match=message):
            scan_axis(mol, settings)
    assert issubclass(ScanError, MoleculeError)


def test_normal_of_a_planar_molecule(formic_acid):
    u = scan_axis(formic_acid, ScanSettings())
    centred = formic_acid.coords - formic_acid.coords.mean(axis=0)
    np.testing.assert_allclose(centred @ u, 0, atol=1e-3)  # every atom lies in the plane
    assert np.isclose(np.linalg.norm(u), 1.0)


def test_swap_point_where_the_hand_built_order_changes():
    mol = hand_molecule()
    engine = ScanEngine(mol, ScanSettings(atom=1, axis="x", d_min=-0.3, d_max=0.5, step=0.01))
    # By hand: the H rows differ only in the C-H term, so H1 sorts below H2 once r1 > 1.105 Å,
    # between d = 0.10 and d = 0.11.
    assert engine.swap_intervals.tolist() == [[40, 41]]
    np.testing.assert_allclose(engine.swap_points, [0.105])
    before, after = sorted_cm(mol.charges, engine.geometries[40])[1], sorted_cm(mol.charges, engine.geometries[41])[1]
    assert before.tolist() == [0, 1, 2] and after.tolist() == [0, 2, 1]


def test_swap_intervals_equal_permutation_changes_on_a_real_molecule(formic_acid):
    engine = ScanEngine(formic_acid, ScanSettings(atom=0))
    perms = np.array([sorted_cm(formic_acid.charges, g)[1] for g in engine.geometries])
    changes = [[i, i + 1] for i in range(len(perms) - 1) if not np.array_equal(perms[i], perms[i + 1])]
    assert engine.swap_intervals.tolist() == changes and len(changes) == 2
    np.testing.assert_allclose(engine.swap_points, [-0.495, 0.495])


def test_order_changes_between_equivalent_rows_are_not_swaps():
    # Atoms 1 and 2 are equivalent (equal rows up to their exchange): a change of their order,
    # as rounding between exactly equal norms makes, leaves the sorted matrix as it is.
    symmetric = np.array([[36.9, 3.0, 3.0], [3.0, 0.5, 0.4], [3.0, 0.4, 0.5]])
    cms = np.stack([symmetric, symmetric])
    perms = np.array([[0, 1, 2], [0, 2, 1]])
    valid = np.ones(2, dtype=bool)
    assert swap_intervals(cms, perms, valid).shape == (0, 2)
    lopsided = symmetric.copy()
    lopsided[0, 2] = lopsided[2, 0] = 2.9
    assert swap_intervals(np.stack([lopsided, lopsided]), perms, valid).tolist() == [[0, 1]]
    assert swap_intervals(np.stack([lopsided, lopsided]), perms, np.array([True, False])).shape == (0, 2)


def test_w1_smooth_and_l1_sorted_jumps_at_swap_points(formic_acid):
    r = run_scan(formic_acid, ScanSettings(atom=0, models=list(MODELS)))
    assert r.jump_ratio["l1_sorted"] > 3 and r.jump_ratio["w1"] < 1.2
    assert r.jump_ratio["l1_unsorted"] < 1.2  # atom order fixed: no swaps, no jumps
    step_ref = np.abs(np.diff(r.reference)).max()
    jumps_l1 = [abs(r.models["l1_sorted"][j] - r.models["l1_sorted"][i]) for i, j in r.swap_intervals]
    jumps_w1 = [abs(r.models["w1"][j] - r.models["w1"][i]) for i, j in r.swap_intervals]
    assert max(jumps_l1) > 3 * step_ref  # the jump sits at a swap point
    assert max(jumps_w1) < 1.2 * step_ref
    # away from the swap intervals L1 sorted changes smoothly
    away = np.ones(r.d.size - 1, dtype=bool)
    away[r.swap_intervals[:, 0]] = False
    assert np.abs(np.diff(r.models["l1_sorted"]))[away].max() < 1.2 * step_ref


def test_default_teaching_example_shows_the_papers_figure():
    default = next(iter(TEACHING_EXAMPLES))  # the app's default
    r = run_scan(molecule_from_example(default), settings_for_example(default, models=["l1_sorted", "w1"]))
    assert r.jump_ratio["l1_sorted"] > 3 and r.jump_ratio["w1"] < 1.2
    assert r.swap_points.size > 0 and r.notice is None


def test_w1_invariant_to_input_atom_order(formic_acid):
    perm = np.array([3, 0, 4, 2, 1])
    inverse = np.argsort(perm)
    shuffled = Molecule(formic_acid.charges[perm], formic_acid.coords[perm], inverse[formic_acid.bonds],
                        "shuffled", None, "test")
    atom = 0
    settings = dict(models=["w1", "l1_unsorted"], axis="x")
    a = run_scan(formic_acid, ScanSettings(atom=atom, **settings))
    b = run_scan(shuffled, ScanSettings(atom=int(inverse[atom]), **settings), train_index=a.train_index)
    np.testing.assert_allclose(b.reference, a.reference, rtol=1e-12)
    np.testing.assert_allclose(b.models["w1"], a.models["w1"], rtol=1e-9)
    assert b.hyperparameters["w1"] == pytest.approx(a.hyperparameters["w1"])


def test_collisions_flagged_and_left_out():
    # a fixed collision distance and no energy ceiling: only the 0.5 A rule (the chemical default: test_chemical_scans)
    settings = settings_for_example("ethylene_bond", models=["l1_sorted", "w1", "l1_sorted_large"], min_distance=0.5,
                                    max_energy=None)
    mol = molecule_from_example("ethylene_bond")
    engine = ScanEngine(mol, settings)
    r = engine.result()
    cc = np.linalg.norm(mol.coords[0] - mol.coords[1])
    expected_bad = (cc - r.d) < 0.5  # carbon 0 moves towards carbon 1
    np.testing.assert_array_equal(~r.valid, expected_bad)
    assert expected_bad.sum() > 5
    assert r.notice.startswith(f"{expected_bad.sum()} of 201 geometries left out")
    assert np.isnan(r.reference[~r.valid]).all() and np.isfinite(r.reference[r.valid]).all()
    for values in r.models.values():
        assert np.isnan(values[~r.valid]).all() and np.isfinite(values[r.valid]).all()
    assert r.valid[r.train_index].all() and r.valid[r.train_index_large].all()
    assert engine.features("l1", "sorted").shape[0] == r.valid.sum()  # never in the CM
    with pytest.raises(ScanError, match="collide"):
        engine.result(train_index=[0, int(np.flatnonzero(~r.valid)[0])])


def test_training_sets_seeded_nested_and_overridable(formic_acid):
    valid = np.ones(201, dtype=bool)
    small, large = draw_training_sets(valid, 10, 80, seed=3)
    assert small.size == 10 and large.size == 80 and set(small) <= set(large)
    assert draw_training_sets(valid, 10, 80, seed=3)[0].tolist() == small.tolist()
    assert draw_training_sets(valid, 10, 80, seed=4)[0].tolist() != small.tolist()
    with pytest.raises(ScanError, match="only 5 valid"):
        draw_training_sets(np.arange(201) < 5, 10, 0, seed=0)
    engine = ScanEngine(formic_acid, ScanSettings(atom=0))
    r = engine.result(train_index=[150, 10, 100, 10])
    assert r.train_index.tolist() == [10, 100, 150]
    np.testing.assert_allclose(r.models["w1"][r.train_index], r.reference[r.train_index], atol=1e-3)
    for bad, message in [([3], "at least 2"), ([0, 500], "between 0 and 200"), ([0.5, 2.5], "grid indices")]:
        with pytest.raises(ScanError, match=message):
            engine.result(train_index=bad)
    assert engine.result(seed=1).train_index.tolist() != engine.result().train_index.tolist()
    with pytest.raises(ScanError, match="unknown model"):
        engine.result(models=["l9"])


def test_manual_hyperparameters(formic_acid):
    r = run_scan(formic_acid, ScanSettings(atom=0, sigma=50.0, lam=1e-6))
    assert r.hyperparameters == {"l1_sorted": (50.0, 1e-6), "w1": (50.0, 1e-6)}


def test_predictions_equal_plain_krr(formic_acid):
    engine = ScanEngine(formic_acid, ScanSettings(atom=0, models=["l2_sorted"]))
    r = engine.result()
    X = engine.features("l2", "sorted")
    sigma, lam = r.hyperparameters["l2_sorted"]
    tr = r.train_index  # all grid points are valid here
    y = r.reference[tr]
    D = np.sqrt(((X[:, None, :] - X[None, tr, :]) ** 2).sum(-1))
    alpha = solve_krr(kernel_from_distances(D[tr], "l2", sigma), y - y.mean(), lam)
    np.testing.assert_allclose(r.models["l2_sorted"], kernel_from_distances(D, "l2", sigma) @ alpha + y.mean(),
                               rtol=1e-8)


def test_loo_closed_form_equals_brute_force():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 4))
    y = rng.normal(size=12)
    D = np.abs(X[:, None] - X[None]).sum(-1)
    K = kernel_from_distances(D, "l1", 3.0)
    lambdas = [1e-6, 1e-2, 1.0]
    closed = loo_residuals(K, y, lambdas)
    for k, lam in enumerate(lambdas):
        brute = []
        for i in range(12):
            keep = np.arange(12) != i
            alpha = solve_krr(K[np.ix_(keep, keep)], y[keep], lam)
            brute.append(y[i] - K[i, keep] @ alpha)
        np.testing.assert_allclose(closed[k], brute, rtol=1e-6, atol=1e-9)
    best = select_by_loo(D, y, "l1", sigma_factors=(0.5, 1, 2), lambdas=lambdas)
    scores = {(s, lam): np.abs(loo_residuals(kernel_from_distances(D, "l1", s), y, [lam])).mean()
              for s in [f * np.median(D[np.triu_indices(12, 1)]) for f in (0.5, 1, 2)] for lam in lambdas}
    assert best.loo_mae == pytest.approx(min(scores.values()))


def test_jump_ratio():
    valid = np.ones(5, dtype=bool)
    ref = np.array([0.0, 1, 2, 3, 4])
    assert jump_ratio(np.array([0.0, 1, 5, 6, 7]), ref, valid) == 4.0
    valid[2] = False  # the jump from 1 to 5 now spans a left-out point
    assert jump_ratio(np.array([0.0, 1, 5, 6, 7]), ref, valid) == 1.0


def test_result_json_and_frame(formic_acid):
    r = run_scan(formic_acid, ScanSettings(atom=0, models=["l1_sorted", "w1", "l1_sorted_large"]))
    j = r.to_json()
    for key in ("d", "reference", "models", "train_index", "swap_points", "jump_ratio"):
        assert key in j
    assert set(j["models"]) == {"l1_sorted", "w1", "l1_sorted_large"}
    assert len(j["d"]) == len(j["reference"]) == 201 and len(j["train_index_large"]) == 80
    frame = r.to_frame()
    assert list(frame.columns) == ["d", "valid", "reference", "l1_sorted", "w1", "l1_sorted_large",
                                   "is_train", "is_train_large", "is_tie"]
    assert frame["is_train"].sum() == 10 and not frame["is_tie"].any()
    assert j["tie_points"] == [] and j["tie_index"] == []


def test_settings_bounds():
    with pytest.raises(ValueError):
        ScanSettings(step=0)
    with pytest.raises(ValueError):
        ScanSettings(models=["l7"])
    with pytest.raises(ValueError):
        ScanSettings(n_train=1)


def test_views_at_any_displacement(formic_acid):
    from scipy.stats import wasserstein_distance

    engine = ScanEngine(formic_acid, ScanSettings(atom=0))
    np.testing.assert_allclose(engine.geometry_at(0.3)[0] - formic_acid.coords[0], 0.3 * engine.axis)
    cm, perm = engine.cm_at(0.6)
    assert cm.shape == (5, 5) and sorted(perm.tolist()) == list(range(5))
    norms = np.linalg.norm(cm, axis=1)
    assert (np.diff(norms) <= 0).all()
    assert perm[:2].tolist() == [2, 0] and engine.cm_at(0.2)[1][:2].tolist() == [0, 2]  # the oxygens swapped
    x_d, x_0, w1 = engine.cdfs_at(0.6)
    assert x_d.size == x_0.size == 15 and (np.diff(x_d) >= 0).all()
    assert w1 == pytest.approx(wasserstein_distance(x_d, x_0)) and w1 > 0
    assert engine.cdfs_at(0.0)[2] == 0.0
    assert engine.index_of(0.304) == 130
    with pytest.raises(ScanError, match="no Coulomb matrix"):
        ScanEngine(hand_molecule(), ScanSettings(atom=1, axis="x", d_min=-0.2, d_max=0.2)).cm_at(-1.0)


def test_single_atom_refused():
    atom = Molecule(np.array([54]), np.zeros((1, 3)), np.zeros((0, 2)), "Xe", None, "test")
    with pytest.raises(ScanError, match="at least two atoms"):
        ScanEngine(atom, ScanSettings(axis="x"))


def test_coarse_grid_large_set_takes_every_point(formic_acid):
    r = run_scan(formic_acid, ScanSettings(atom=0, step=0.1, models=["l1_sorted", "l1_sorted_large"]))
    assert r.train_index_large.tolist() == list(range(21))
    assert "all 21 valid grid points" in r.notice
    with pytest.raises(ScanError, match="only 21 valid grid points"):
        run_scan(formic_acid, ScanSettings(atom=0, step=0.1, n_train=30))


def test_lazy_coulomb_matrices_equal_the_direct_ones(formic_acid):
    from wqml_dash.core.features.coulomb_matrix import coulomb_matrix
    from wqml_dash.core.scan.swaps import ScanCoulombMatrices, sorted_permutations
    from wqml_dash.core.scan.grid import min_pair_distances

    engine = ScanEngine(formic_acid, ScanSettings(atom=0))
    cms = ScanCoulombMatrices(formic_acid.charges, formic_acid.coords, 0, engine.geometries)
    direct = np.stack([coulomb_matrix(formic_acid.charges, g) for g in engine.geometries])
    np.testing.assert_allclose(np.stack([cms[i] for i in range(len(cms))]), direct, rtol=1e-13)
    np.testing.assert_array_equal(cms.permutations(chunk=7), sorted_permutations(direct))
    np.testing.assert_allclose(min_pair_distances(engine.geometries, 0), min_pair_distances(engine.geometries))


def test_too_large_scans_are_refused():
    n = 60  # 1830 Coulomb-matrix entries per geometry
    chain = Molecule(np.full(n, 6), np.c_[1.5 * np.arange(n), np.zeros(n), np.zeros(n)], np.zeros((0, 2)),
                     "C60 chain", None, "test")
    with pytest.raises(ScanError, match="too many for the scan"):
        ScanEngine(chain, ScanSettings(atom=0, axis="y", d_min=-10, d_max=10, step=0.001))
    assert ScanEngine(chain, ScanSettings(atom=0, axis="y", models=["w1"])).d.size == 201


def test_distances_to_zero_match_the_metrics():
    """The explorer's readout: each grid CM's W1 / sorted-L1 distance to the undisplaced CM."""
    from wqml_dash.core.features.coulomb_matrix import vectorize
    from wqml_dash.core.learn.metrics import distances, prepare
    from wqml_dash.core.scan.engine import ScanEngine, settings_for_example
    from wqml_dash.core.scan.examples import molecule_from_example

    engine = ScanEngine(molecule_from_example("formic_acid"), settings_for_example("formic_acid"))
    to_zero, zero_entries = engine.distances_to_zero()
    i = engine.index_of(0.3)
    here, zero = vectorize(engine.cm_at(0.3)[0])[None], vectorize(engine.cm_at(0.0)[0])[None]
    for metric in ("w1", "l1"):
        ref = distances(metric, prepare(metric, here), prepare(metric, zero), presorted=True)[0, 0]
        assert to_zero[metric][i] == pytest.approx(ref, rel=1e-12)
        assert to_zero[metric][engine.index_of(0.0)] == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_array_equal(zero_entries, np.sort(zero[0]))
