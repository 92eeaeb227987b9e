"""Coulomb matrices against qmllib, the three orders, and vectorisation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wqml_dash.core.features.coulomb_matrix import (
    coulomb_matrix,
    coulomb_vector,
    coulomb_vectors,
    dataset_coulomb_vectors,
    order_permutation,
    unvectorize,
    vector_length,
    vectorize,
)

qmllib_repr = pytest.importorskip("qmllib.representations")


@pytest.mark.parametrize("order,sorting", [("unsorted", "unsorted"), ("sorted", "row-norm")])
def test_matches_qmllib_on_real_qm9(qm9, sample_rows, order, sorting):
    ours = dataset_coulomb_vectors(qm9, sample_rows, order=order)
    assert ours.shape == (300, 435)
    for k, row in enumerate(sample_rows[:120]):
        z, r = qm9.molecule(row)
        ref = qmllib_repr.generate_coulomb_matrix(z.astype(float), r, size=29, sorting=sorting)
        # qmllib stores a triangle in a different element order: compare the full matrices.
        ref_full = np.zeros((29, 29))
        ref_full[np.tril_indices(29)] = ref
        ref_full = ref_full + np.tril(ref_full, -1).T
        np.testing.assert_allclose(unvectorize(ours[k]), ref_full, rtol=1e-12, atol=1e-12)


def test_definition_of_one_matrix():
    z = np.array([8, 1, 1])
    r = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.9572], [0.9266, 0.0, -0.2399]])
    cm = coulomb_matrix(z, r, size=5)
    assert cm.shape == (5, 5)
    assert cm[0, 0] == pytest.approx(0.5 * 8 ** 2.4)
    assert cm[1, 1] == pytest.approx(0.5)
    assert cm[0, 1] == pytest.approx(8 / 0.9572)
    assert np.all(cm[3:] == 0) and np.all(cm[:, 3:] == 0)
    np.testing.assert_allclose(cm, cm.T)


def test_vectorize_is_upper_triangle_row_major():
    m = np.arange(9.0).reshape(3, 3)
    m = m + m.T
    v = vectorize(m)
    assert v.tolist() == [m[0, 0], m[0, 1], m[0, 2], m[1, 1], m[1, 2], m[2, 2]]
    assert vector_length(29) == 435
    np.testing.assert_array_equal(unvectorize(v), m)


def test_single_and_batched_agree(qm9):
    rows = [3, 500, 70000]
    for order in ("unsorted", "sorted", "random"):
        batch = dataset_coulomb_vectors(qm9, rows, order=order, seed=7)
        for k, row in enumerate(rows):
            z, r = qm9.molecule(row)
            single = coulomb_vector(z, r, size=29, order=order, seed=7)
            if order == "random":
                # Different random streams; the same multiset of entries.
                np.testing.assert_allclose(np.sort(single), np.sort(batch[k]))
            else:
                np.testing.assert_allclose(single, batch[k], rtol=1e-13)


def test_sorted_rows_descend_and_random_keeps_padding_last(qm9):
    z, r = qm9.molecule(1234)
    n = len(z)
    full = unvectorize(dataset_coulomb_vectors(qm9, [1234], order="sorted")[0])
    norms = np.linalg.norm(full, axis=1)
    assert np.all(np.diff(norms[:n]) <= 1e-12)
    rnd = unvectorize(dataset_coulomb_vectors(qm9, [1234], order="random", seed=3)[0])
    assert np.all(rnd[n:] == 0) and np.all(np.abs(rnd[:n]).sum(1) > 0)
    again = dataset_coulomb_vectors(qm9, [1234], order="random", seed=3)[0]
    np.testing.assert_array_equal(vectorize(rnd), again)


def test_stable_ties():
    cm = np.diag([1.0, 2.0, 1.0, 2.0])
    assert order_permutation(cm, 4, "sorted").tolist() == [1, 3, 0, 2]


def test_errors_are_clear():
    with pytest.raises(ValueError, match="same position"):
        coulomb_matrix([1, 1], [[0, 0, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="smaller than"):
        coulomb_matrix([1, 1, 1], np.eye(3), size=2)
    with pytest.raises(ValueError, match="unknown order"):
        coulomb_vectors(np.array([1]), np.zeros((1, 3)), np.array([0, 1]), 2, order="bogus")


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 130_830), st.integers(0, 2**32 - 1))
def test_sorted_cm_is_permutation_invariant(qm9, row, seed):
    z, r = qm9.molecule(row)
    perm = np.random.default_rng(seed).permutation(len(z))
    a = coulomb_vector(z, r, size=29, order="sorted")
    b = coulomb_vector(z[perm], r[perm], size=29, order="sorted")
    # Equal up to the order of exactly tied rows: compare as matrices' sorted entries and norms.
    np.testing.assert_allclose(np.sort(a), np.sort(b), rtol=1e-12)
    na = np.linalg.norm(unvectorize(a), axis=1)
    nb = np.linalg.norm(unvectorize(b), axis=1)
    np.testing.assert_allclose(na, nb, rtol=1e-12)


def test_random_order_of_a_molecule_does_not_depend_on_the_others(qm9):
    alone = dataset_coulomb_vectors(qm9, [77], order="random", seed=4)
    among = dataset_coulomb_vectors(qm9, [5, 77, 9000], order="random", seed=4)
    np.testing.assert_array_equal(alone[0], among[1])
    other_seed = dataset_coulomb_vectors(qm9, [77], order="random", seed=5)
    assert not np.array_equal(alone, other_seed)
