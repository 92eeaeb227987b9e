"""The PyTorch backend gives the CPU backend's numbers (checked on torch's CPU device, which CI has;
on a GPU where there is one)."""

from __future__ import annotations

import numpy as np
import pytest

from wqml_dash.core.learn import backends
from wqml_dash.core.learn.backends import get_backend
from wqml_dash.core.learn.cv import cross_validate, fold_split
from wqml_dash.core.learn.krr import KernelRidge
from wqml_dash.core.learn.metrics import distances, prepare
from wqml_dash.core.learn.plan import fit_point, series_features, split_rows
from wqml_dash.core.learn.settings import LearningCurveSettings

torch = pytest.importorskip("torch")

DEVICES = [backends.TORCH_CPU] + (["cuda"] if backends.cuda_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("metric", ["l1", "l2", "w1"])
def test_distances_match_the_cpu_backend(sorted_cms, metric, device):
    X, Y = sorted_cms[:70], sorted_cms[70:95]
    backend = get_backend(device)
    backend.tile = 16
    got = backend.to_numpy(backend.distances(metric, X, Y))
    np.testing.assert_allclose(got, distances(metric, X, Y), rtol=1e-12, atol=1e-9)
    backend.tile = 32
    sym = backend.to_numpy(backend.distances(metric, prepare(metric, X), presorted=True))
    np.testing.assert_allclose(sym, distances(metric, X), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
def test_cross_validation_scores_match(qm9, sample_rows, sorted_cms, device):
    y = qm9.energy[sample_rows[:90]]
    D = distances("w1", sorted_cms[:90])
    val, train = fold_split(90, 3, 2)
    ours = get_backend("cpu").folds(D, y, "w1", val, train, None)
    theirs = get_backend(device).folds(D, y, "w1", val, train, None)
    for sigma in (0.5, 4.0):
        np.testing.assert_allclose(theirs.mae(sigma, [1e-8, 1e-4]), ours.mae(sigma, [1e-8, 1e-4]), rtol=1e-8)
    cpu = cross_validate(D, y, "w1", folds=3, seed=2)
    dev = cross_validate(D, y, "w1", folds=3, seed=2, backend=get_backend(device))
    assert (dev.sigma, dev.lam) == (cpu.sigma, cpu.lam)
    assert dev.mae == pytest.approx(cpu.mae, rel=1e-8)


@pytest.mark.parametrize("device", DEVICES)
def test_a_learning_curve_point_matches(qm9, device):
    settings = LearningCurveSettings(series=["sorted:l1"], sizes=[60], n_test=80, folds=3, seed=4,
                                     sigma_factors=[1.0, 8.0, 64.0], lambdas=[1e-8, 1e-4], device="cpu")
    train, test = split_rows(len(qm9), 60, 80, 4)
    y = qm9.target(settings.target)
    X_train = series_features(qm9, train, "sorted", "l1", 4)
    X_test = series_features(qm9, test, "sorted", "l1", 4)
    cpu = fit_point(X_train, y[train], X_test, y[test], "sorted", "l1", 60, settings)
    dev = fit_point(X_train, y[train], X_test, y[test], "sorted", "l1", 60, settings, backend=get_backend(device))
    assert (dev.sigma, dev.lam) == (cpu.sigma, cpu.lam)
    np.testing.assert_allclose(dev.predictions, cpu.predictions, rtol=1e-8)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("metric", ["l1", "l2", "w1"])
@pytest.mark.parametrize("center", [False, True])
def test_the_estimator_gives_the_same_model_on_either_backend(sorted_cms, qm9, sample_rows, metric, device, center):
    X, y = sorted_cms[:60], qm9.energy[sample_rows[:60]]
    sigma = 8.0 * float(np.median(distances(metric, X)))
    cpu = KernelRidge(metric, sigma, 1e-6, center=center).fit(X[:45], y[:45])
    dev = KernelRidge(metric, sigma, 1e-6, center=center, device=device).fit(X[:45], y[:45])
    np.testing.assert_allclose(dev.dual_coef_, cpu.dual_coef_, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(dev.predict(X[45:]), cpu.predict(X[45:]), rtol=1e-9)
    D = distances(metric, prepare(metric, X))
    pre = KernelRidge(metric, sigma, 1e-6, center=center, precomputed=True, device=device).fit(D[:45, :45], y[:45])
    np.testing.assert_allclose(pre.predict(D[45:, :50], columns=np.arange(45)), cpu.predict(X[45:]), rtol=1e-9)


def test_device_choice():
    assert backends.resolve_device("cpu") == "cpu"
    assert backends.resolve_device("auto") == ("cuda" if backends.cuda_available() else "cpu")
    with pytest.raises(ValueError, match="unknown device"):
        backends.resolve_device("tpu")
    if not backends.cuda_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            backends.resolve_device("cuda")
