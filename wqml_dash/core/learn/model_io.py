"""Trained models that travel: save and load without pickle.

A model file is one NumPy ``.npz`` archive holding plain arrays only, read back with
``np.load(path, allow_pickle=False)``, so loading a file can never run code:

- ``settings``: a JSON string (a 0-d unicode array): the format name and version, the wqml-dash
  version that wrote it, each step's type, parameters and fitted scalars, and what the model was
  trained on (`training`: elements, largest molecule, representation, geometry sources, target
  and unit, the data set's identity);
- ``dual_coef`` (n,): the KRR weights; ``X_fit`` (n, d): the training representations as the
  metric compares them (for W1 each row sorted); absent for a ``precomputed`` model.

What can be saved: a fitted `krr.KernelRidge` or `krr_cv.KernelRidgeCV` (saved as its refit
`KernelRidge`, with the choice of sigma and lambda recorded), alone or as the last step of a
``Pipeline`` after a `features.transformers.CoulombMatrix` or `BagOfBonds` (the useful case:
it predicts molecules). `load_model` refuses files of another format or of a newer version
with a `ModelFormatError` that says so.
"""

from __future__ import annotations

import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np

from ... import __version__
from ..features.bag_of_bonds import BagLayout
from ..features.coulomb_matrix import ORDERS
from ..features.transformers import BagOfBonds, CoulombMatrix
from .krr import KernelRidge
from .krr_cv import KernelRidgeCV
from .metrics import METRICS

#: The ``format`` every model file states.
FORMAT = "wqml-dash model"
#: The newest format version this code writes and reads. Raise it when a file written now could
#: be misread by older code; a reader refuses versions above its own.
FORMAT_VERSION = 1


class ModelFormatError(ValueError):
    """A file that is not a wqml-dash model, is damaged, or was written by a newer format version."""


# --- save -------------------------------------------------------------------------------------

def _krr_step(model) -> tuple[dict, dict[str, np.ndarray]]:
    selection = None
    if isinstance(model, KernelRidgeCV):
        selection = {"by": "KernelRidgeCV", "folds": int(model.folds), "search": model.search,
                     "seed": int(model.seed), "sigma_factor": float(model.sigma_factor_),
                     "cv_mae": float(model.cv_mae_), "sigma_factors": [float(v) for v in model.sigma_factors],
                     "lambdas": [float(v) for v in model.lambdas]}
        model = model.best_estimator_
    if not isinstance(model, KernelRidge) or not hasattr(model, "dual_coef_"):
        raise TypeError(f"cannot save {type(model).__name__}: a fitted KernelRidge or KernelRidgeCV is needed")
    params = model.get_params(deep=False)
    params["sigma"] = None if params["sigma"] is None else float(params["sigma"])
    params["lam"] = float(params["lam"])
    step = {"type": "KernelRidge", "params": params,
            "fitted": {"sigma_": float(model.sigma_), "y_offset_": float(model.y_offset_),
                       "n_train_": int(model.n_train_), "n_features_in_": int(model.n_features_in_)},
            "selection": selection}
    arrays = {"dual_coef": np.asarray(model.dual_coef_, dtype=np.float64)}
    if model.X_fit_ is not None:
        arrays["X_fit"] = np.asarray(model.X_fit_, dtype=np.float64)
    return step, arrays


def _transformer_step(step) -> dict:
    if not hasattr(step, "n_molecules_"):
        raise TypeError(f"cannot save an unfitted {type(step).__name__}")
    fitted = {"elements_": [int(z) for z in step.elements_], "max_atoms_": int(step.max_atoms_),
              "sources_": [str(s) for s in step.sources_], "n_molecules_": int(step.n_molecules_)}
    if isinstance(step, CoulombMatrix):
        params = {"order": str(step.order), "size": None if step.size is None else int(step.size),
                  "seed": int(step.seed)}
        fitted["size_"] = int(step.size_)
        return {"type": "CoulombMatrix", "params": params, "fitted": fitted}
    fitted["layout_"] = _layout_json(step.layout_)
    params = {"layout": None if step.layout is None else _layout_json(step.layout)}
    return {"type": "BagOfBonds", "params": params, "fitted": fitted}


def _layout_json(layout: BagLayout) -> dict:
    return {"elements": [int(z) for z in layout.elements], "bags": [[int(z) for z in b] for b in layout.bags],
            "sizes": [int(s) for s in layout.sizes]}


def _layout(data, name: str) -> BagLayout:
    try:
        return BagLayout(tuple(int(z) for z in data["elements"]), tuple(tuple(int(z) for z in b) for b in data["bags"]),
                         tuple(int(s) for s in data["sizes"]))
    except (KeyError, TypeError, ValueError):
        raise ModelFormatError(f"{name}: the Bag-of-Bonds layout is damaged") from None


def _split(model) -> tuple[list[tuple[str, object]], tuple[str, object]]:
    """(transformer steps, final step) with their names; TypeError for what cannot be saved."""
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline):
        return [], ("model", model)
    *head, last = list(model.steps)
    for name, step in head:
        if not isinstance(step, (CoulombMatrix, BagOfBonds)):
            raise TypeError(f"cannot save the pipeline step {name!r} ({type(step).__name__}): a saved pipeline is "
                            "CoulombMatrix or BagOfBonds, then KernelRidge or KernelRidgeCV")
    if len(head) > 1:
        raise TypeError("a saved pipeline has one representation step (CoulombMatrix or BagOfBonds)")
    return head, last


def training_summary(model, *, target: str | None = None, unit: str | None = None,
                     dataset: dict | None = None) -> dict:
    """What a model was trained on, JSON-ready (what `save_model` records as ``training``)."""
    head, (_, last) = _split(model)
    krr = last.best_estimator_ if isinstance(last, KernelRidgeCV) else last
    summary = {"samples": int(getattr(krr, "n_train_", 0)), "target": target, "unit": unit, "dataset": dataset,
               "representation": None, "elements": None, "max_atoms": None, "geometry_sources": None}
    if head:
        step = head[0][1]
        summary.update(step.training_domain())
        if isinstance(step, CoulombMatrix):
            summary["representation"] = {"name": "coulomb_matrix", "order": step.order, "size": int(step.size_)}
        else:
            summary["representation"] = {"name": "bag_of_bonds", "length": int(step.layout_.length)}
    return summary


def save_model(model, path, *, target: str | None = None, unit: str | None = None,
               dataset: dict | None = None, note: str | None = None) -> Path:
    """Write a fitted model to ``path`` (an ``.npz`` file; the suffix is added if missing), without pickle.

    Parameters
    ----------
    model : a fitted KernelRidge or KernelRidgeCV, or a Pipeline of CoulombMatrix/BagOfBonds and one of them
    path : where to write
    target, unit : what the model predicts, e.g. 'atomization_energy', 'kcal/mol'
    dataset : the training data set's identity (`MolecularDataset.identity`), or None
    note : free text kept in the file

    Returns
    -------
    Path of the written file
    """
    head, (name, last) = _split(model)
    krr, arrays = _krr_step(last)
    krr["name"] = name
    steps = [dict(_transformer_step(step), name=step_name) for step_name, step in head] + [krr]
    settings = {"format": FORMAT, "format_version": FORMAT_VERSION, "wqml_dash_version": __version__,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "pipeline": bool(head), "steps": steps,
                "training": training_summary(model, target=target, unit=unit, dataset=dataset), "note": note}
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    with open(path, "wb") as f:
        np.savez(f, settings=np.array(json.dumps(settings)), **arrays)
    return path


# --- load -------------------------------------------------------------------------------------

def read_model(path) -> tuple[dict, dict[str, np.ndarray]]:
    """(settings, arrays) of a model file, checked for format and version; nothing is unpickled."""
    name = os.fspath(path)
    try:
        with np.load(name, allow_pickle=False) as archive:
            if "settings" not in archive.files:
                raise ModelFormatError(f"{name}: not a wqml-dash model file (no settings)")
            arrays = {k: archive[k] for k in archive.files}
    except ModelFormatError:
        raise
    except FileNotFoundError:
        raise ModelFormatError(f"{name}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelFormatError(f"{name}: not a wqml-dash model file ({str(exc).splitlines()[0][:120]})") from None
    try:
        settings = json.loads(str(arrays.pop("settings")))
    except (TypeError, ValueError):
        raise ModelFormatError(f"{name}: not a wqml-dash model file (its settings are not JSON)") from None
    if not isinstance(settings, dict) or settings.get("format") != FORMAT:
        raise ModelFormatError(f"{name}: not a wqml-dash model file (format {settings.get('format')!r})"
                               if isinstance(settings, dict) else f"{name}: not a wqml-dash model file")
    version = settings.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFormatError(f"{name}: unknown model format version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFormatError(f"{name}: model format version {version} (written by wqml-dash "
                               f"{settings.get('wqml_dash_version', '?')}) is newer than this wqml-dash "
                               f"({__version__}) reads (up to version {FORMAT_VERSION}); upgrade wqml-dash")
    return settings, arrays


def _params(step: dict, allowed: set[str], name: str) -> dict:
    params = step.get("params") or {}
    if not isinstance(params, dict) or not set(params) <= allowed:
        raise ModelFormatError(f"{name}: unexpected parameters {sorted(set(params) - allowed)} in step "
                               f"{step.get('type')!r}")
    return params


def _number(value, name: str, what: str, *, integer: bool = False) -> float | int:
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not np.isfinite(value):
        raise ModelFormatError(f"{name}: {what} must be a finite {'integer' if integer else 'number'}, got {value!r}")
    return value


def _load_krr(step: dict, arrays: dict, name: str, device: str) -> KernelRidge:
    params = _params(step, {"metric", "sigma", "lam", "precomputed", "center", "device"}, name)
    if params.get("metric") not in METRICS:
        raise ModelFormatError(f"{name}: unknown metric {params.get('metric')!r}")
    fitted = step.get("fitted") or {}
    model = KernelRidge(metric=params["metric"], sigma=params.get("sigma"), lam=float(params.get("lam", 1e-8)),
                        precomputed=bool(params.get("precomputed", False)), center=bool(params.get("center", False)),
                        device=device)
    model.sigma_ = float(_number(fitted.get("sigma_"), name, "sigma_"))
    model.y_offset_ = float(_number(fitted.get("y_offset_"), name, "y_offset_"))
    model.n_train_ = int(_number(fitted.get("n_train_"), name, "n_train_", integer=True))
    model.n_features_in_ = int(_number(fitted.get("n_features_in_"), name, "n_features_in_", integer=True))
    dual = arrays.get("dual_coef")
    if dual is None or dual.shape != (model.n_train_,) or dual.dtype != np.float64:
        raise ModelFormatError(f"{name}: dual_coef must be {model.n_train_} float64 weights")
    model.dual_coef_ = dual
    model.X_fit_ = None
    if not model.precomputed:
        X_fit = arrays.get("X_fit")
        if X_fit is None or X_fit.shape != (model.n_train_, model.n_features_in_) or X_fit.dtype != np.float64:
            raise ModelFormatError(f"{name}: X_fit must be ({model.n_train_}, {model.n_features_in_}) float64")
        model.X_fit_ = X_fit
    return model


def _load_transformer(step: dict, name: str):
    fitted = step.get("fitted") or {}
    kind = step.get("type")
    if kind == "CoulombMatrix":
        params = _params(step, {"order", "size", "seed"}, name)
        if params.get("order") not in ORDERS:
            raise ModelFormatError(f"{name}: unknown order {params.get('order')!r}")
        size = params.get("size")
        out = CoulombMatrix(order=params["order"], size=None if size is None else int(_number(size, name, "size",
                                                                                             integer=True)),
                            seed=int(_number(params.get("seed", 0), name, "seed", integer=True)))
        out.size_ = int(_number(fitted.get("size_"), name, "size_", integer=True))
    elif kind == "BagOfBonds":
        given = _params(step, {"layout"}, name).get("layout")
        out = BagOfBonds(layout=None if given is None else _layout(given, name))
        out.layout_ = _layout(fitted.get("layout_"), name)
    else:
        raise ModelFormatError(f"{name}: unknown step type {kind!r}")
    try:
        out.elements_ = np.asarray([int(z) for z in fitted["elements_"]], dtype=np.int64)
        out.max_atoms_ = int(fitted["max_atoms_"])
        out.sources_ = [str(s) for s in fitted["sources_"]]
        out.n_molecules_ = int(fitted["n_molecules_"])
    except (KeyError, TypeError, ValueError):
        raise ModelFormatError(f"{name}: the training domain of step {kind!r} is damaged") from None
    return out


def load_model_with_info(path, *, device: str = "cpu"):
    """(model, settings): the estimator of `load_model` and the file's settings (``settings['training']``
    says what the model was trained on)."""
    from sklearn.pipeline import Pipeline

    name = os.fspath(path)
    settings, arrays = read_model(path)
    steps = settings.get("steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, dict) for s in steps):
        raise ModelFormatError(f"{name}: the model has no steps")
    if steps[-1].get("type") != "KernelRidge":
        raise ModelFormatError(f"{name}: the last step must be a KernelRidge, got {steps[-1].get('type')!r}")
    krr = _load_krr(steps[-1], arrays, name, device)
    if not settings.get("pipeline"):
        return krr, settings
    pipeline = [(str(s.get("name") or s["type"].lower()), _load_transformer(s, name)) for s in steps[:-1]]
    return Pipeline(pipeline + [(str(steps[-1].get("name") or "kernelridge"), krr)]), settings


def load_model(path, *, device: str = "cpu"):
    """The fitted model saved by `save_model`: a ``Pipeline`` (representation step, then a
    `KernelRidge`) or a bare `KernelRidge`; a saved `KernelRidgeCV` comes back as its refit
    `KernelRidge`. ``device`` is where it will compute (default the CPU, whatever it was trained on).

    Raises
    ------
    ModelFormatError
        for a missing file, a file that is not a wqml-dash model, a damaged one, or one of a newer
        format version than this wqml-dash reads
    """
    return load_model_with_info(path, device=device)[0]
