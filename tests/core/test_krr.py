"""KRR against scikit-learn's KernelRidge, and cross-validation of sigma and lambda."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

import wqml_dash.core.learn.solvers as solvers
from wqml_dash.core.learn.cv import cross_validate, fold_indices, median_distance
from wqml_dash.core.learn.errors import SolveError
from wqml_dash.core.learn.kernels import kernel_from_distances, kernel_matrix
from wqml_dash.core.learn.krr import KernelRidge
from wqml_dash.core.learn.metrics import distances
from wqml_dash.core.learn.solvers import solve_krr

sklearn_kr = pytest.importorskip("sklearn.kernel_ridge")


@pytest.mark.parametrize("metric,sigma,lam", [("l1", 4000.0, 1e-8), ("l2", 300.0, 1e-6),
                                              ("w1", 5.0, 1e-8)])
def test_matches_sklearn_precomputed(qm9, sample_rows, sorted_cms, metric, sigma, lam):
    y = qm9.energy[sample_rows]
    Xtr, ytr, Xte = sorted_cms[:200], y[:200], sorted_cms[200:]
    ours = KernelRidge(metric=metric, sigma=sigma, lam=lam).fit(Xtr, ytr)
    ref = sklearn_kr.KernelRidge(alpha=lam, kernel="precomputed")
    ref.fit(kernel_matrix(metric, Xtr, None, sigma), ytr)
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, rtol=1e-6, atol=1e-8 * np.abs(ref.dual_coef_).max())
    np.testing.assert_allclose(ours.predict(Xte), ref.predict(kernel_matrix(metric, Xte, Xtr, sigma)),
                               rtol=1e-9)


def test_interpolates_training_points_with_small_lambda(sorted_cms, qm9, sample_rows):
    y = qm9.energy[sample_rows[:100]]
    model = KernelRidge("w1", sigma=2.0, lam=1e-12).fit(sorted_cms[:100], y)
    np.testing.assert_allclose(model.predict(sorted_cms[:100]), y, atol=1e-3)


def test_predict_before_fit_and_bad_params():
    with pytest.raises(RuntimeError, match="fit"):
        KernelRidge().predict(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="unknown metric"):
        KernelRidge(metric="l7").fit(np.zeros((2, 3)), np.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        KernelRidge().fit(np.zeros((2, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="unknown parameter"):
        KernelRidge().set_params(gamma=1)
    assert KernelRidge().set_params(sigma=3.0).get_params()["sigma"] == 3.0


def test_precomputed_mode_equals_the_representation_mode(qm9, sample_rows, sorted_cms):
    """sklearn's kernel="precomputed" in our terms: fit on (n, n) distances, predict from (m, n) ones."""
    y = qm9.energy[sample_rows[:150]]
    X = sorted_cms[:150]
    ours = KernelRidge("w1", 5.0, 1e-8).fit(X[:100], y[:100])
    D = distances("w1", X)
    pre = KernelRidge("w1", 5.0, 1e-8, precomputed=True).fit(D[:100, :100], y[:100])
    np.testing.assert_allclose(pre.dual_coef_, ours.dual_coef_, rtol=1e-9)
    np.testing.assert_allclose(pre.predict(D[100:, :100]), ours.predict(X[100:]), rtol=1e-10)
    assert pre.X_fit_ is None and ours.X_fit_.shape == (100, X.shape[1]) and pre.n_train_ == 100
    with pytest.raises(ValueError, match="precomputed=True needs"):
        KernelRidge("w1", precomputed=True).fit(D[:100, :90], y[:100])
    with pytest.raises(ValueError, match="columns"):
        ours.predict(X[100:], columns=np.arange(10))


def test_score_is_r2_and_centring_returns_the_mean_far_away(qm9, sample_rows, sorted_cms):
    from sklearn.metrics import r2_score

    y = qm9.energy[sample_rows[:200]]
    X = sorted_cms[:200]
    model = KernelRidge("l1", 4000.0, 1e-8).fit(X[:150], y[:150])
    assert model.score(X[150:], y[150:]) == pytest.approx(r2_score(y[150:], model.predict(X[150:])), rel=1e-12)
    far = X[150:151] + 1e6  # no training point near: the kernel row is 0
    centred = KernelRidge("l1", 40.0, 1e-8, center=True).fit(X[:150], y[:150])
    assert centred.y_offset_ == pytest.approx(y[:150].mean())
    assert centred.predict(far)[0] == pytest.approx(y[:150].mean())
    assert KernelRidge("l1", 40.0, 1e-8).fit(X[:150], y[:150]).predict(far)[0] == pytest.approx(0.0)


def test_solve_error_on_indefinite_matrix():
    with pytest.raises(SolveError, match="increase lambda"):
        solve_krr(np.array([[1.0, 2.0], [2.0, 1.0]]), np.ones(2), 0.0)


def test_folds_partition():
    folds = fold_indices(23, 5, seed=1)
    assert len(folds) == 5
    assert sorted(np.concatenate(folds).tolist()) == list(range(23))
    assert [f.tolist() for f in folds] == [f.tolist() for f in fold_indices(23, 5, seed=1)]
    with pytest.raises(ValueError, match="folds"):
        fold_indices(3, 5, seed=0)


def _brute_force_cv(D, y, metric, sigmas, lambdas, folds, seed):
    out = np.zeros((len(sigmas), len(lambdas)))
    for i, s in enumerate(sigmas):
        for j, lam in enumerate(lambdas):
            err = 0.0
            for va in fold_indices(len(y), folds, seed):
                tr = np.setdiff1d(np.arange(len(y)), va)
                # scikit-learn on explicit kernel matrices: independent of our fused engine
                m = sklearn_kr.KernelRidge(alpha=lam, kernel="precomputed")
                m.fit(kernel_from_distances(D[np.ix_(tr, tr)], metric, s), y[tr])
                err += np.abs(m.predict(kernel_from_distances(D[np.ix_(va, tr)], metric, s)) - y[va]).sum()
            out[i, j] = err / len(y)
    return out


@pytest.mark.parametrize("metric", ["l1", "l2", "w1"])
def test_cross_validation_matches_brute_force(qm9, sample_rows, sorted_cms, metric):
    y = qm9.energy[sample_rows[:150]]
    D = distances(metric, sorted_cms[:150])
    factors, lambdas = [0.5, 2.0, 8.0, 32.0], [1e-8, 1e-4]
    cv = cross_validate(D, y, metric, folds=4, sigma_factors=factors, lambdas=lambdas, seed=3,
                        patience=0, extend=0)
    sigmas = median_distance(D) * np.array(factors)
    ref = _brute_force_cv(D, y, metric, sigmas, lambdas, 4, 3)
    np.testing.assert_allclose(cv.scores, ref, rtol=1e-6)
    i, j = np.unravel_index(np.argmin(ref), ref.shape)
    assert cv.sigma == pytest.approx(sigmas[i]) and cv.lam == lambdas[j]
    assert cv.mae == pytest.approx(ref.min(), rel=1e-6)


def test_cross_validation_extends_grid_upwards(qm9, sample_rows, sorted_cms):
    """Random-order L1 wants a huge sigma: a grid that stops too early must be continued."""
    y = qm9.energy[sample_rows[:150]]
    D = distances("l1", sorted_cms[:150])
    short = cross_validate(D, y, "l1", folds=3, sigma_factors=[0.25, 0.5], lambdas=[1e-8],
                           extend=6)
    assert short.sigmas.size > 2
    assert short.sigma > 0.5 * median_distance(D)


def test_cv_is_cancellable(sorted_cms, qm9, sample_rows):
    from wqml_dash.core.progress import Cancelled, CancelToken

    token = CancelToken()
    token.cancel()
    D = distances("w1", sorted_cms[:50])
    with pytest.raises(Cancelled):
        cross_validate(D, qm9.energy[sample_rows[:50]], "w1", cancel=token)


@pytest.mark.parametrize("metric", ["l1", "w1"])
def test_local_search_ends_at_a_local_minimum(qm9, sample_rows, sorted_cms, metric):
    """The warm-started search stops at a grid point better than its four neighbours, with the
    same CV scores as the brute force, and costs fewer evaluations than the grid."""
    y = qm9.energy[sample_rows[:120]]
    D = distances(metric, sorted_cms[:120])
    med, lambdas = median_distance(D), [1e-10, 1e-8, 1e-6, 1e-4, 1e-2]
    far = cross_validate(D, y, metric, folds=3, lambdas=lambdas, seed=1, start=(med * 2.0 ** -2, 1e-2))
    assert far.evaluations == np.isfinite(far.scores).sum() + np.isinf(far.scores).sum()
    k = int(round(np.log2(far.sigma / med)))
    j = lambdas.index(far.lam)
    neighbours = [(k - 1, j), (k + 1, j)] + [(k, jj) for jj in (j - 1, j + 1) if 0 <= jj < len(lambdas)]
    if "sigma-high" in far.at_edge:  # stopped at the bound of the searched range, and says so
        assert far.sigma == pytest.approx(med * 2.0 ** 16)
        neighbours.remove((k + 1, j))
    for kk, jj in neighbours + [(k, j)]:
        ref = _brute_force_cv(D, y, metric, [med * 2.0 ** kk], [lambdas[jj]], 3, 1)[0, 0]
        if (kk, jj) == (k, j):
            assert far.mae == pytest.approx(ref, rel=1e-6)
        else:
            assert ref >= far.mae * (1 - 1e-9)
    grid = cross_validate(D, y, metric, folds=3, lambdas=lambdas, seed=1)
    near = cross_validate(D, y, metric, folds=3, lambdas=lambdas, seed=1, start=(grid.sigma, grid.lam))
    assert (near.sigma, near.lam) == pytest.approx((grid.sigma, grid.lam))
    assert near.evaluations < grid.evaluations
    with pytest.raises(ValueError, match="start"):
        cross_validate(D, y, metric, folds=3, start=(0.0, 1e-8))


def test_fit_in_place_and_column_subsets(qm9, sample_rows, sorted_cms):
    y = qm9.energy[sample_rows[:80]]
    D = distances("w1", sorted_cms[:80])
    D_test = distances("w1", sorted_cms[200:230], sorted_cms[:100])  # 20 extra columns
    kept = KernelRidge("w1", 4.0, 1e-8, precomputed=True).fit(D, y)
    in_place = KernelRidge("w1", 4.0, 1e-8, precomputed=True).fit(D.copy(), y, overwrite=True)
    np.testing.assert_allclose(in_place.dual_coef_, kept.dual_coef_, rtol=1e-10)
    np.testing.assert_allclose(kept.predict(D_test, columns=np.arange(80)),
                               kept.predict(np.ascontiguousarray(D_test[:, :80])), rtol=1e-12)
    scratch = D.copy()
    KernelRidge("w1", 4.0, 1e-8, precomputed=True).fit(scratch, y, overwrite=True)
    assert not np.array_equal(scratch, D)  # really reused as the workspace


def test_systems_past_the_lapack_limit_are_factorised_in_panels(monkeypatch, qm9, sample_rows, sorted_cms):
    """OpenBLAS's dpotrf crashed (SIGSEGV) on a 32,000-point system: larger systems go panel by panel."""
    y = qm9.energy[sample_rows[:120]]
    D = distances("w1", sorted_cms[:120])
    whole = KernelRidge("w1", 3.0, 1e-6, precomputed=True).fit(D, y)
    monkeypatch.setattr(solvers, "LAPACK_LIMIT_BYTES", 8 * 100 * 100)
    monkeypatch.setattr(solvers, "PANEL", 32)  # 120 = 3 full panels and a partial one
    panels = KernelRidge("w1", 3.0, 1e-6, precomputed=True).fit(D, y)
    np.testing.assert_allclose(panels.dual_coef_, whole.dual_coef_, rtol=1e-8,
                               atol=1e-8 * np.abs(whole.dual_coef_).max())


@pytest.mark.parametrize("n, panel", [(1, 4), (7, 3), (64, 16), (100, 37), (50, 64)])
def test_blocked_cholesky_equals_lapack(n, panel):
    rng = np.random.default_rng(n)
    m = rng.normal(size=(n, n))
    spd = m @ m.T + n * np.eye(n)
    a = np.asfortranarray(spd.copy())
    assert solvers.blocked_cholesky_in_place(a, panel) == 0
    expected = np.linalg.cholesky(spd)
    np.testing.assert_allclose(np.tril(a), expected, rtol=1e-10, atol=1e-12)
    rhs = rng.normal(size=(n, 3))
    np.testing.assert_allclose(solvers.blocked_cholesky_solve(a, rhs, panel), np.linalg.solve(spd, rhs), rtol=1e-8)
    np.testing.assert_allclose(solvers.blocked_cholesky_solve(a, rhs[:, 0], panel), np.linalg.solve(spd, rhs[:, 0]),
                               rtol=1e-8)


def test_blocked_cholesky_reports_the_first_bad_minor_like_lapack():
    rng = np.random.default_rng(1)
    m = rng.normal(size=(40, 40))
    spd = m @ m.T + 40 * np.eye(40)
    spd[25, 25] = -1.0  # the leading minor of order 26 is the first that is not positive definite
    _, info = scipy.linalg.lapack.dpotrf(spd.copy(), lower=1)
    assert info == 26
    assert solvers.blocked_cholesky_in_place(np.asfortranarray(spd.copy()), 8) == info
