"""L1, L2 and W1 distances and their kernels against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance

from wqml_dash.core.features.coulomb_matrix import dataset_coulomb_vectors
from wqml_dash.core.learn.kernels import kernel_from_distances, kernel_matrix
from wqml_dash.core.learn.metrics import distances, l1_distances, l2_distances, w1_distances

RTOL = 1e-10


def test_w1_matches_scipy_on_real_cms(sorted_cms):
    X = sorted_cms[:60]
    D = w1_distances(X)
    ref = np.array([[wasserstein_distance(a, b) for b in X] for a in X])
    np.testing.assert_allclose(D, ref, rtol=RTOL, atol=1e-12)


def test_w1_matches_pot_on_real_cms(sorted_cms):
    ot = pytest.importorskip("ot")
    X, Y = sorted_cms[:40], sorted_cms[40:75]
    D = w1_distances(X, Y)
    ref = np.array([[ot.wasserstein_1d(a, b, p=1) for b in Y] for a in X])
    np.testing.assert_allclose(D, ref, rtol=RTOL)
    # and via the general solver on the entries' empirical distributions
    a, b = X[0], Y[0]
    w = np.full(a.size, 1.0 / a.size)
    emd = ot.emd2(w, w, np.abs(a[:, None] - b[None, :]))
    assert D[0, 0] == pytest.approx(emd, rel=1e-9)


def test_w1_kernel_matches_qmllib(sorted_cms):
    kernels = pytest.importorskip("qmllib.kernels")
    X, Y = sorted_cms[:50], sorted_cms[50:90]
    for sigma in (0.5, 3.0, 40.0):
        ref = kernels.wasserstein_kernel(X, Y, sigma)
        ours = kernel_matrix("w1", X, Y, sigma)
        np.testing.assert_allclose(ours, ref, rtol=RTOL)


def test_l1_l2_match_cdist(sorted_cms):
    X, Y = sorted_cms[:80], sorted_cms[80:200]
    np.testing.assert_allclose(l1_distances(X, Y), cdist(X, Y, "cityblock"), rtol=RTOL)
    np.testing.assert_allclose(l2_distances(X, Y), cdist(X, Y, "euclidean"), rtol=RTOL)
    np.testing.assert_allclose(l1_distances(X), cdist(X, X, "cityblock"), rtol=RTOL)
    np.testing.assert_allclose(l2_distances(X), cdist(X, X, "euclidean"), rtol=RTOL, atol=1e-9)


@pytest.mark.parametrize("n", range(1, 14))
def test_every_block_remainder_matches_cdist(sorted_cms, n):
    """The kernels work on blocks of four rows: sizes that are not multiples of 4 take the
    remainder paths, which must give the same numbers."""
    X, Y = sorted_cms[:n], sorted_cms[20:20 + (n % 6) + 1]
    np.testing.assert_allclose(l1_distances(X, Y), cdist(X, Y, "cityblock"), rtol=RTOL)
    np.testing.assert_allclose(l2_distances(X, Y), cdist(X, Y, "euclidean"), rtol=RTOL)
    np.testing.assert_allclose(l1_distances(X), cdist(X, X, "cityblock"), rtol=RTOL)
    np.testing.assert_allclose(l2_distances(X), cdist(X, X, "euclidean"), rtol=RTOL, atol=1e-9)


@pytest.mark.parametrize("metric", ["l1", "l2", "w1"])
@pytest.mark.parametrize("n", [1, 2, 3, 7, 64])
def test_symmetric_case_equals_cross_case(sorted_cms, metric, n):
    X = sorted_cms[:n]
    sym = distances(metric, X)
    cross = distances(metric, X, X.copy())
    np.testing.assert_allclose(sym, cross, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(sym, sym.T)
    assert np.all(np.diag(sym) == 0)


def test_w1_is_invariant_to_atom_order(qm9, sample_rows):
    """W1 on sorted, unsorted and random CMs is the same distance."""
    rows = sample_rows[:50]
    ref = w1_distances(dataset_coulomb_vectors(qm9, rows, order="sorted"))
    for order, seed in (("unsorted", 0), ("random", 1), ("random", 99)):
        other = w1_distances(dataset_coulomb_vectors(qm9, rows, order=order, seed=seed))
        np.testing.assert_allclose(other, ref, rtol=1e-12, atol=1e-12)
    # while L1 is not
    l1_sorted = l1_distances(dataset_coulomb_vectors(qm9, rows, order="sorted"))
    l1_random = l1_distances(dataset_coulomb_vectors(qm9, rows, order="random", seed=1))
    assert not np.allclose(l1_sorted, l1_random)


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 40)),
              elements=st.floats(-1e3, 1e3, allow_nan=False)),
       st.integers(0, 2**32 - 1))
def test_w1_property_scipy_and_permutations(X, seed):
    rng = np.random.default_rng(seed)
    Y = rng.permuted(X, axis=1)  # each row's entries shuffled: W1 must not change
    D = w1_distances(X, Y)
    ref = np.array([[wasserstein_distance(a, b) for b in Y] for a in X])
    np.testing.assert_allclose(D, ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.diag(D), 0, atol=1e-9)


def test_kernels_from_distances():
    D = np.array([[0.0, 1.0], [2.0, 0.0]])
    np.testing.assert_allclose(kernel_from_distances(D, "l1", 2.0), np.exp(-D / 2))
    np.testing.assert_allclose(kernel_from_distances(D, "w1", 2.0), np.exp(-D / 2))
    np.testing.assert_allclose(kernel_from_distances(D, "l2", 2.0), np.exp(-D ** 2 / 8))
    with pytest.raises(ValueError, match="sigma"):
        kernel_from_distances(D, "l1", 0.0)
    with pytest.raises(ValueError, match="unknown metric"):
        distances("l3", D)


def test_shape_errors():
    with pytest.raises(ValueError, match="differ in length"):
        l1_distances(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="2-d"):
        l1_distances(np.zeros(3))


def test_concurrent_calls_from_threads(sorted_cms):
    """The app and the executor call the compiled kernels from several threads at once."""
    import threading

    ref = {m: distances(m, sorted_cms) for m in ("l1", "w1")}
    results, errors = [], []

    def work(metric):
        try:
            for _ in range(3):
                results.append((metric, distances(metric, sorted_cms)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(m,)) for m in ("l1", "w1") * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 18
    for metric, D in results:
        np.testing.assert_array_equal(D, ref[metric])
