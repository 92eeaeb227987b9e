"""Every teaching example's description matches its plot: swap points, ties and jumps it claims.

Default scan settings, seed 0 (what the explorer shows when the example is picked), with the large
training set on, so that claims about 80 training points are checked too.
"""

from __future__ import annotations

import numpy as np
import pytest

from wqml_dash.core.scan.engine import ScanEngine, settings_for_example
from wqml_dash.core.scan.settings import ScanSettings
from wqml_dash.core.scan.swaps import JUMP_THRESHOLD, step_ratios, tie_points
from wqml_dash.core.scan.examples import TEACHING_EXAMPLES, molecule_from_example
from wqml_dash.core.scan.molecule import Molecule


@pytest.fixture(scope="module")
def scans():
    cache = {}

    def get(key):
        if key not in cache:
            mol = molecule_from_example(key)
            engine = ScanEngine(mol, settings_for_example(key, models=["l1_sorted", "w1", "l1_sorted_large"]))
            cache[key] = (mol, engine, engine.result())
        return cache[key]
    return get


def moved(mol, engine, i, j):
    """Atoms ("C1") whose place in the sorted order differs between grid points i and j."""
    a, b = engine.permutations[i], engine.permutations[j]
    return {f"{mol.symbols[x]}{x}" for x, y in zip(a, b, strict=True) if x != y}


def largest_step(values):
    """Grid index pair (i, i + 1) of the largest |change| between neighbours."""
    i = int(np.nanargmax(np.abs(np.diff(values))))
    return i, i + 1


def spike(values, i):
    """Height of a one-point spike at grid index i over the mean of its neighbours."""
    return values[i] - (values[i - 1] + values[i + 1]) / 2


def test_every_example_has_a_test():
    assert set(TEACHING_EXAMPLES) == {"formic_acid", "acrolein", "pyridine", "furan", "butadiene", "benzene",
                                      "ethylene_bond"}


def test_formic_acid_one_clean_swap_of_the_oxygens(scans):
    mol, engine, r = scans("formic_acid")
    np.testing.assert_allclose(r.swap_points, [-0.495, 0.495])
    assert r.tie_points.size == 0
    assert all(moved(mol, engine, i, j) == {"O0", "O2"} for i, j in r.swap_intervals)
    assert list(largest_step(r.models["l1_sorted"])) in r.swap_intervals.tolist()
    assert r.jump_ratio["l1_sorted"] > 5 and r.jump_ratio["w1"] < 1.2


def test_acrolein_hydrogens_near_0_3_and_carbons_at_0_94(scans):
    mol, engine, r = scans("acrolein")
    assert r.tie_points.size == 0
    near = {round(float(p), 3): moved(mol, engine, i, j)
            for p, (i, j) in zip(r.swap_points, r.swap_intervals, strict=True)}
    assert near[-0.295] == near[0.295] == {"H6", "H7"}
    assert near[-0.935] == near[0.935] == {"C1", "C2"}
    i, j = largest_step(r.models["l1_sorted"])
    assert moved(mol, engine, i, j) == {"C1", "C2"} and abs(r.d[i]) > 0.9
    assert 1.5 < r.jump_ratio["l1_sorted_large"] < r.jump_ratio["l1_sorted"]  # shrink but remain


def test_pyridine_eight_swaps_a_side_and_a_tie_at_zero(scans):
    mol, engine, r = scans("pyridine")
    for side in (r.swap_points[r.swap_points > 0], -r.swap_points[r.swap_points < 0]):
        assert side.size == 8 and 0.29 <= side.min() and side.max() <= 0.68
    np.testing.assert_array_equal(r.tie_points, [0.0])
    i = int(r.tie_index[0])
    assert {"C1", "C5"} <= moved(mol, engine, i, i + 1)
    assert largest_step(r.models["l1_sorted"]) in ((i - 1, i), (i, i + 1))


def test_furan_tie_spike_does_not_shrink_with_more_data(scans):
    mol, engine, r = scans("furan")
    np.testing.assert_allclose(np.unique(np.round(np.abs(r.swap_points), 2)), [0.48, 0.5, 0.68, 0.84], atol=0.006)
    np.testing.assert_array_equal(r.tie_points, [0.0])
    i = int(r.tie_index[0])
    assert {"C1", "C4"} <= moved(mol, engine, i, i + 1)
    small, large = r.models["l1_sorted"], r.models["l1_sorted_large"]
    assert largest_step(small) in ((i - 1, i), (i, i + 1))
    assert abs(spike(large, i)) > 0.8 * abs(spike(small, i))  # as large with 80 points as with 10

    def swap_jumps(v):
        return max(abs(v[b] - v[a]) for a, b in r.swap_intervals)
    assert swap_jumps(large) < swap_jumps(small)


def test_butadiene_hydrogen_swaps_and_the_inner_carbons_tie(scans):
    mol, engine, r = scans("butadiene")
    np.testing.assert_allclose(r.swap_points, [-0.305, 0.305])
    assert all(moved(mol, engine, i, j) == {"H5", "H9"} for i, j in r.swap_intervals)
    np.testing.assert_array_equal(r.tie_points, [0.0])
    i = int(r.tie_index[0])
    assert {"C1", "C2"} <= moved(mol, engine, i, i + 1) and "C0" not in moved(mol, engine, i, i + 1)
    for name in ("l1_sorted", "l1_sorted_large"):
        assert largest_step(r.models[name]) in ((i - 1, i), (i, i + 1))
        assert 100 < spike(r.models[name], i) < 160  # "about 130 kcal/mol"
    assert r.jump_ratio["w1"] < 1.2
    assert "Tie at d = +0.00" in r.notice and "C1, C2" in r.notice


def test_benzene_no_swap_no_tie_no_jump(scans):
    _, _, r = scans("benzene")
    assert r.swap_points.size == 0 and r.tie_points.size == 0
    assert r.jump_ratio["l1_sorted"] < 1.2 and r.jump_ratio["w1"] < 1.2


def test_ethylene_tie_and_crossing_at_zero_left_out_beyond_0_27(scans):
    mol, engine, r = scans("ethylene_bond")
    np.testing.assert_array_equal(r.tie_points, [0.0])
    i = int(r.tie_index[0])
    assert [i - 1, i + 1] in r.swap_intervals.tolist() and 0.0 in r.swap_points  # crosses at the tie
    before, after = engine.permutations[i - 1], engine.permutations[i + 1]
    assert before[:2].tolist() == [0, 1] and after[:2].tolist() == [1, 0]  # the carbons change places
    ratios = step_ratios(r.models["l1_sorted"], r.reference, r.valid)  # L1 sorted spikes there: its largest jump
    assert np.nanargmax(ratios) in (i - 1, i) and ratios[i - 1: i + 1].max() > JUMP_THRESHOLD
    assert r.d[~r.valid].min() == pytest.approx(0.28) and r.valid[r.d <= 0.27].all()
    cc = np.linalg.norm(mol.coords[0] - mol.coords[1])  # carbon 0 moves towards carbon 1
    too_close = (cc - r.d) < 0.6 * 2 * 0.76  # 0.6 of the sum of the covalent radii: 0.91 A
    assert r.d[too_close].min() == pytest.approx(0.43) and not r.valid[too_close].any()
    assert np.nanmax(r.reference) - np.nanmin(r.reference) <= 1000  # the energy ceiling
    assert "15 with the reference more than 1,000 kcal/mol above its minimum" in r.notice


def chain(mover_last: bool):
    """Four carbons on a line, 1 Å apart; the moving end atom is index 3, the other end index 0 or 3."""
    x = [3.0, 1.0, 2.0, 0.0] if mover_last else [0.0, 1.0, 2.0, 3.0]
    coords = np.array([[v, 0.0, 0.0] for v in x])
    bonds = np.array([[3, 1], [1, 2], [2, 0]]) if mover_last else np.array([[0, 1], [1, 2], [2, 3]])
    return Molecule(np.full(4, 6), coords, bonds, "C4 chain", None, "test")


def test_a_tie_is_a_point_whose_order_differs_from_both_sides():
    # The end atom moves off the line: the inner carbons tie at d = 0, where the stable sort puts them in
    # input order; on both sides the far inner atom has the larger norm. Input order A, B, Y, X (X moves):
    # at d = 0 the sort gives A B Y X, on both sides B A Y X, a different matrix: a tie, not two swaps.
    engine = ScanEngine(chain(mover_last=True), ScanSettings(atom=3, axis="z", d_min=-0.2, d_max=0.2, step=0.1))
    assert engine.tie_index.tolist() == [2] and engine.swap_intervals.shape == (0, 2)
    assert engine.permutations[2].tolist() == [1, 2, 0, 3] and engine.permutations[1].tolist() == [2, 1, 0, 3]
    # In input order X, A, B, Y the tie's order is the mirror image of its neighbours': the same matrix.
    mirror = ScanEngine(chain(mover_last=False), ScanSettings(atom=0, axis="z", d_min=-0.2, d_max=0.2, step=0.1))
    assert mirror.tie_index.size == 0 and mirror.swap_intervals.shape == (0, 2)


def test_tie_points_needs_equal_norms():
    # An order that differs from both neighbours without equal norms (two crossings in a row) is no tie.
    a = np.diag([40.0, 30.0, 20.0])
    b = np.diag([30.0, 40.0, 20.0])
    cms = np.stack([a, b, a])
    perms = np.array([[0, 1, 2], [1, 0, 2], [0, 1, 2]])
    assert tie_points(cms, perms, np.ones(3, dtype=bool)).size == 0
    c = np.diag([40.0, 40.0, 20.0])
    c[0, 2] = c[2, 0] = 1.0
    c[1, 2] = c[2, 1] = -1.0  # equal norms, different rows: the order matters
    perms_c = np.array([[1, 0, 2], [0, 1, 2], [1, 0, 2]])
    assert tie_points(np.stack([c, c, c]), perms_c, np.ones(3, dtype=bool)).tolist() == [1]


def test_neighbouring_ties_are_one_run_and_a_crossing_through_them_one_swap():
    from wqml_dash.core.scan.swaps import split_ties

    m = np.diag([40.0, 30.0, 20.0])
    cms = np.stack([m] * 9)
    same = np.array([[0, 1, 2]] * 9)
    intervals = np.array([[2, 3], [3, 4], [4, 5], [7, 8]])
    assert split_ties(cms, intervals, np.array([3, 4]), same).tolist() == [[7, 8]]
    crossing = same.copy()
    crossing[5:] = [1, 0, 2]
    assert split_ties(cms, intervals, np.array([3, 4]), crossing).tolist() == [[2, 5], [7, 8]]
