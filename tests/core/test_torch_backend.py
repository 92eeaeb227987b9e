"""The PyTorch backend gives the CPU backend's numbers (checked on torch's CPU device; on a GPU
where there is one)."""

from __future__ import annotations

import numpy as np
import pytest

from wqml_dash.core.learn import torch_backend
from wqml_dash.core.learn.krr import _Folds, cross_validate, fold_indices
from wqml_dash.core.learn.learning_curve import (LearningCurveSettings, _fit_point_torch, fit_point, series_features,
                                           split_rows)
from wqml_dash.core.learn.metrics import distances, prepare

torch = pytest.importorskip("torch")

DEVICES = ["cpu"] + (["cuda"] if torch_backend.cuda_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("metric", ["l1", "l2", "w1"])
def test_distances_match_the_cpu_backend(sorted_cms, metric, device):
    X, Y = sorted_cms[:70], sorted_cms[70:95]
    got = torch_backend.distances_torch(metric, X, Y, device=device, tile=16)
    np.testing.assert_allclose(got, distances(metric, X, Y), rtol=1e-12, atol=1e-9)
    sym = torch_backend.distances_torch(metric, prepare(metric, X), presorted=True, device=device, tile=32)
    np.testing.assert_allclose(sym, distances(metric, X), rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("device", DEVICES)
def test_cross_validation_scores_match(qm9, sample_rows, sorted_cms, device):
    y = qm9.energy[sample_rows[:90]]
    D = distances("w1", sorted_cms[:90])
    val = [np.sort(v) for v in fold_indices(90, 3, 2)]
    train = [np.setdiff1d(np.arange(90), v) for v in val]
    ours = _Folds(D, y, "w1", 3, 2, None)
    theirs = torch_backend.TorchFolds(D, y, "w1", val, train, None, device)
    for sigma in (0.5, 4.0):
        np.testing.assert_allclose(theirs.mae(sigma, [1e-8, 1e-4]), ours.mae(sigma, [1e-8, 1e-4]), rtol=1e-8)
    cpu = cross_validate(D, y, "w1", folds=3, seed=2)
    dev = cross_validate(D, y, "w1", folds=3, seed=2, device=device)
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
    dev = _fit_point_torch(X_train, y[train], X_test, y[test], "sorted", "l1", 60, settings, device,
                           start=None, cancel=None, progress=None)
    assert (dev.sigma, dev.lam) == (cpu.sigma, cpu.lam)
    np.testing.assert_allclose(dev.predictions, cpu.predictions, rtol=1e-8)


def test_device_choice():
    assert torch_backend.resolve_device("cpu") == "cpu"
    assert torch_backend.resolve_device("auto") == ("cuda" if torch_backend.cuda_available() else "cpu")
    with pytest.raises(ValueError, match="unknown device"):
        torch_backend.resolve_device("tpu")
    if not torch_backend.cuda_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            torch_backend.resolve_device("cuda")
