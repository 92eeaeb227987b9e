"""Models that travel (issue 16, item 5): save and load without pickle, versioned, with what the model
was trained on; and the training-domain check behind ``wqml predict``'s warnings."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from wqml_dash.core.features.bag_of_bonds import dataset_layout
from wqml_dash.core.features.transformers import BagOfBonds, CoulombMatrix, Geometry, dataset_molecules
from wqml_dash.core.learn.domain import OutOfDomainError, check_domain
from wqml_dash.core.learn.krr import KernelRidge
from wqml_dash.core.learn.krr_cv import KernelRidgeCV
from wqml_dash.core.learn.metrics import distances
from wqml_dash.core.learn.model_io import (FORMAT_VERSION, ModelFormatError, load_model, load_model_with_info,
                                           read_model, save_model)

SMALL = {"sigma_factors": (1.0, 4.0, 16.0), "lambdas": (1e-8, 1e-4), "folds": 3}


@pytest.fixture(scope="module")
def data(qm9, sample_rows):
    mols = dataset_molecules(qm9, sample_rows)
    return mols, qm9.energy[sample_rows]


@pytest.fixture(scope="module")
def cm_model(data):
    mols, y = data
    return make_pipeline(CoulombMatrix("sorted", size=29), KernelRidge("w1", center=True)).fit(mols[:150], y[:150])


def test_pipeline_round_trip_gives_identical_predictions(tmp_path, qm9, data, cm_model):
    mols, y = data
    path = save_model(cm_model, tmp_path / "w1", target="atomization_energy", unit="kcal/mol",
                      dataset=qm9.identity("atomization_energy"), note="test")
    assert path.name == "w1.npz"
    loaded, settings = load_model_with_info(path)
    np.testing.assert_array_equal(loaded.predict(mols[150:]), cm_model.predict(mols[150:]))
    assert loaded[0].get_params() == cm_model[0].get_params() and loaded[0].size_ == 29
    assert loaded[-1].get_params() == cm_model[-1].get_params()
    assert settings["format_version"] == FORMAT_VERSION and settings["wqml_dash_version"]
    training = settings["training"]
    assert training["elements"] == [1, 6, 7, 8, 9] and training["geometry_sources"] == ["QM9"]
    assert training["representation"] == {"name": "coulomb_matrix", "order": "sorted", "size": 29}
    assert (training["target"], training["unit"], training["samples"]) == ("atomization_energy", "kcal/mol", 150)
    assert training["max_atoms"] == max(len(m.charges) for m in mols[:150])
    assert training["dataset"]["sha256"] == qm9.content_hash


def test_the_file_holds_no_pickle(tmp_path, cm_model):
    path = save_model(cm_model, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as archive:  # would raise on any object array
        arrays = {k: archive[k] for k in archive.files}
    assert set(arrays) == {"settings", "dual_coef", "X_fit"}
    assert all(a.dtype.kind in "fU" for a in arrays.values())
    json.loads(str(arrays["settings"]))
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["X_fit.npy", "dual_coef.npy", "settings.npy"]


def test_other_models_round_trip(tmp_path, data, sorted_cms, qm9, sample_rows):
    mols, y = data
    bob = make_pipeline(BagOfBonds(), KernelRidgeCV("l1", **SMALL)).fit(mols[:120], y[:120])
    loaded, settings = load_model_with_info(save_model(bob, tmp_path / "bob.npz"))
    test = [m for m in mols[120:] if _fits(bob[0], m)]
    assert len(test) > 20
    np.testing.assert_array_equal(loaded.predict(test), bob.predict(test))
    assert loaded[0].layout is None and loaded[0].layout_ == bob[0].layout_
    wide = make_pipeline(BagOfBonds(dataset_layout(qm9)), KernelRidge("l1")).fit(mols[:60], y[:60])
    back = load_model(save_model(wide, tmp_path / "wide.npz"))
    assert back[0].layout == dataset_layout(qm9)
    np.testing.assert_array_equal(back.predict(mols[60:]), wide.predict(mols[60:]))  # any QM9 molecule fits
    assert settings["steps"][-1]["selection"]["by"] == "KernelRidgeCV"
    assert settings["training"]["representation"]["name"] == "bag_of_bonds"
    X, yy = sorted_cms[:100], qm9.energy[sample_rows[:100]]
    bare = KernelRidge("l2").fit(X, yy)
    np.testing.assert_array_equal(load_model(save_model(bare, tmp_path / "bare")).predict(sorted_cms[100:]),
                                  bare.predict(sorted_cms[100:]))
    D = distances("w1", sorted_cms)
    pre = KernelRidge("w1", 4.0, 1e-8, precomputed=True).fit(D[:100, :100], yy)
    back = load_model(save_model(pre, tmp_path / "pre"))
    assert back.X_fit_ is None
    np.testing.assert_array_equal(back.predict(D[100:, :100]), pre.predict(D[100:, :100]))


def _fits(bob, molecule) -> bool:
    try:
        bob.transform([molecule])
    except ValueError:  # an element without a bag, or a bag too small: the subset's layout cannot hold it
        return False
    return True


def test_unknown_versions_and_other_files_are_refused(tmp_path, cm_model):
    path = save_model(cm_model, tmp_path / "m.npz")
    settings, arrays = read_model(path)
    newer = tmp_path / "newer.npz"
    np.savez(newer, settings=np.array(json.dumps(dict(settings, format_version=FORMAT_VERSION + 1))), **arrays)
    with pytest.raises(ModelFormatError, match=f"format version {FORMAT_VERSION + 1} .* is newer .* upgrade"):
        load_model(newer)
    odd = tmp_path / "odd.npz"
    np.savez(odd, settings=np.array(json.dumps(dict(settings, format_version="1"))), **arrays)
    with pytest.raises(ModelFormatError, match="unknown model format version"):
        load_model(odd)
    other = tmp_path / "other.npz"
    np.savez(other, weights=np.zeros(3))
    with pytest.raises(ModelFormatError, match="not a wqml-dash model file"):
        load_model(other)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, settings=np.array([{"format": "wqml-dash model"}], dtype=object))
    with pytest.raises(ModelFormatError, match="not a wqml-dash model file"):
        load_model(pickled)  # an object array would need pickle: refused, never unpickled
    text = tmp_path / "text.npz"
    text.write_text("hello")
    with pytest.raises(ModelFormatError, match="not a wqml-dash model file"):
        load_model(text)
    with pytest.raises(ModelFormatError, match="no such file"):
        load_model(tmp_path / "missing.npz")
    damaged = tmp_path / "damaged.npz"
    np.savez(damaged, settings=arrays["settings"] if "settings" in arrays else np.array(json.dumps(settings)),
             dual_coef=arrays["dual_coef"][:5], X_fit=arrays["X_fit"])
    with pytest.raises(ModelFormatError, match="dual_coef"):
        load_model(damaged)


def test_what_cannot_be_saved(tmp_path, sorted_cms, qm9, sample_rows):
    with pytest.raises(TypeError, match="fitted KernelRidge"):
        save_model(KernelRidge(), tmp_path / "x")
    scaled = make_pipeline(StandardScaler(), KernelRidge("l2")).fit(sorted_cms[:50], qm9.energy[sample_rows[:50]])
    with pytest.raises(TypeError, match="StandardScaler"):
        save_model(scaled, tmp_path / "x")


def test_domain_check_names_elements_size_and_geometry_source(cm_model):
    training = dict(cm_model[0].training_domain(), representation={"name": "coulomb_matrix", "size": 29})
    chloro = Geometry(np.array([6, 17, 1, 1, 1]), np.array([[0, 0, 0], [1.78, 0, 0], [-0.36, 1.03, 0],
                                                            [-0.36, -0.51, 0.89], [-0.36, -0.51, -0.89]]), "SMILES")
    warnings = check_domain(training, chloro)
    assert len(warnings) == 2
    assert "contains Cl, which no training molecule has" in warnings[0] and "H, C, N, O, F" in warnings[0]
    assert "RDKit embedding of the SMILES" in warnings[1] and "QM9's DFT geometries" in warnings[1]
    assert check_domain(training, chloro._replace(source="QM9"))[1:] == []
    assert check_domain(training, (chloro.charges, chloro.coords))[1:] == []  # unknown source: no claim
    n = training["max_atoms"] + 1
    if n <= 29:
        chain = Geometry(np.full(n, 1), np.arange(3 * n, dtype=float).reshape(n, 3), "QM9")
        assert any("more than the largest training molecule" in w for w in check_domain(training, chain))
    big = Geometry(np.full(30, 1), np.arange(90, dtype=float).reshape(30, 3), "QM9")
    with pytest.raises(OutOfDomainError, match="30 atoms.*at most 29"):
        check_domain(training, big)
    bob = dict(training, representation={"name": "bag_of_bonds", "length": 100})
    with pytest.raises(OutOfDomainError, match="no bags for Cl"):
        check_domain(bob, chloro)
