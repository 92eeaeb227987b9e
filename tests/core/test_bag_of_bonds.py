"""Bag of Bonds: against a plain Python implementation, atom-order invariance, layout, learning curves."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from wqml_dash.core.features.bag_of_bonds import (
    BagLayout,
    bob_vectors,
    dataset_bob_vectors,
    dataset_layout,
    layout_from_counts,
)
from wqml_dash.core.learn.learning_curve import run_learning_curve
from wqml_dash.core.learn.plan import series_features
from wqml_dash.core.learn.settings import LearningCurveSettings


def bob_reference(charges, coords, layout: BagLayout) -> np.ndarray:
    """Straight from the definition (Hansen et al. 2015), one molecule, loops only."""
    bags = {bag: [] for bag in layout.bags}
    z = [int(c) for c in charges]
    for i in range(len(z)):
        bags[(z[i],)].append(0.5 * z[i] ** 2.4)
    for i, j in itertools.combinations(range(len(z)), 2):
        r = float(np.linalg.norm(np.asarray(coords[i]) - np.asarray(coords[j])))
        bags[(min(z[i], z[j]), max(z[i], z[j]))].append(z[i] * z[j] / r)
    out = []
    for bag, size in zip(layout.bags, layout.sizes, strict=True):
        values = sorted(bags[bag], reverse=True)
        out += values + [0.0] * (size - len(values))
    return np.array(out)


@pytest.fixture(scope="module")
def layout(qm9):
    return dataset_layout(qm9)


def test_qm9_layout(layout):
    assert layout.elements == (1, 6, 7, 8, 9)
    assert len(layout.bags) == 5 + 15  # one diagonal bag per element, one per unordered pair
    assert layout.bags[:5] == ((1,), (6,), (7,), (8,), (9,))
    assert layout.sizes[:5] == (20, 9, 7, 5, 6)  # most atoms of each element in one QM9 molecule
    assert dict(zip(layout.bags, layout.sizes, strict=True))[(1, 1)] == 20 * 19 // 2
    assert layout.length == sum(layout.sizes) == 713
    np.testing.assert_array_equal(np.diff(layout.offsets), layout.sizes)


def test_matches_the_definition(qm9, sample_rows, layout):
    rows = sample_rows[:60]
    X = dataset_bob_vectors(qm9, rows, layout)
    assert X.shape == (60, 713)
    for k, i in enumerate(rows):
        z, r = qm9.molecule(i)
        np.testing.assert_allclose(X[k], bob_reference(z, r, layout), rtol=1e-13, atol=0)


def test_invariant_to_atom_order(qm9, sample_rows, layout):
    rng = np.random.default_rng(3)
    for i in sample_rows[:20]:
        z, r = qm9.molecule(i)
        perm = rng.permutation(len(z))
        a = bob_vectors(z, r, [0, len(z)], layout)
        b = bob_vectors(z[perm], r[perm], [0, len(z)], layout)
        np.testing.assert_array_equal(a, b)


def test_each_bag_sorted_descending_and_padded(qm9, sample_rows, layout):
    X = dataset_bob_vectors(qm9, sample_rows, layout)
    off = layout.offsets
    for b in range(len(layout.bags)):
        bag = X[:, off[b]:off[b + 1]]
        assert np.all(np.diff(bag, axis=1) <= 0)
        assert np.all(bag >= 0)


def test_layout_from_counts_and_errors():
    layout = layout_from_counts(np.array([1, 6]), np.array([[4, 1], [2, 2]]))
    assert layout.bags == ((1,), (6,), (1, 1), (1, 6), (6, 6))
    assert layout.sizes == (4, 2, 6, 4, 1)
    water = (np.array([8, 1, 1]), np.array([[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]))
    with pytest.raises(ValueError, match=r"elements \[8\]"):
        bob_vectors(*water, [0, 3], layout)
    with pytest.raises(ValueError, match="more entries in a bag"):
        bob_vectors(np.ones(5, dtype=int), np.arange(15.0).reshape(5, 3), [0, 5], layout)


def test_series_features_bob_ignores_the_order(qm9, sample_rows):
    a = series_features(qm9, sample_rows[:30], "sorted", "l1", seed=0, representation="bob")
    b = series_features(qm9, sample_rows[:30], "random", "l1", seed=9, representation="bob")
    np.testing.assert_array_equal(a, b)
    w = series_features(qm9, sample_rows[:30], "sorted", "w1", seed=0, representation="bob")
    np.testing.assert_array_equal(w, np.sort(a, axis=1))
    with pytest.raises(ValueError, match="unknown representation"):
        series_features(qm9, sample_rows[:3], "sorted", "l1", seed=0, representation="soap")


def test_learning_curve_on_bag_of_bonds(qm9):
    settings = LearningCurveSettings(series=["sorted:l1", "sorted:w1"], sizes=[50, 100], n_test=150, folds=3,
                                     seed=1, sigma_factors=[1.0, 4.0, 16.0, 64.0], lambdas=[1e-8, 1e-4],
                                     representation="bob")
    result = run_learning_curve(qm9, settings)
    y = qm9.energy[result.test_rows]
    baseline = np.abs(y - y.mean()).mean()
    assert result.config["representation"] == "bob"
    for p in result.points:
        assert 0 < p.mae < 0.5 * baseline
    cm = run_learning_curve(qm9, LearningCurveSettings(**{**settings.to_dict(), "representation": "cm"}))
    bob_l1, bob_w1 = result.points[:2], result.points[2:]
    cm_l1, cm_w1 = cm.points[:2], cm.points[2:]
    assert all(b.mae != c.mae for b, c in zip(bob_l1, cm_l1, strict=True))  # L1 sees the bags
    # W1 compares sorted entries, and the bags hold exactly the CM's entries plus more zero padding: the
    # sums of |sort(x) - sort(y)| are equal, only 1/d differs (435 vs 713), which the sigma grid absorbs.
    for b, c in zip(bob_w1, cm_w1, strict=True):
        assert b.mae == pytest.approx(c.mae, rel=1e-9)
        assert b.sigma / c.sigma == pytest.approx(435 / 713, rel=1e-9)
    with pytest.raises(ValueError):
        LearningCurveSettings(representation="soap")
