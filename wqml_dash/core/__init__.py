"""The science of wqml-dash, with no UI: data, representations, learning and displacement scans.

- `data`: molecular data sets (`MolecularDataset`), the QM9 loaders and `load_dataset` for any file ASE reads;
- `features`: what a molecule becomes for learning (Coulomb matrix, Bag of Bonds);
- `learn`: metrics (L1, L2, W1), kernels, the KRR estimator and its backends, cross-validation,
  series, and the learning-curve protocol;
- `scan`: molecules in 3D, displacement scans, reference energies and the scan models;
- `progress`: progress callbacks and cancellation, shared by the long computations.

Nothing in here imports panel, holoviews or bokeh (`tests/test_layers.py`). The names people use
most are importable from here: ``from wqml_dash.core import load_qm9, KernelRidge``.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "MolecularDataset": ".data", "load_qm9": ".data", "load_qm9_release": ".data", "load_dataset": ".data",
    "coulomb_matrix": ".features", "coulomb_vectors": ".features", "dataset_coulomb_vectors": ".features",
    "dataset_bob_vectors": ".features",
    "distances": ".learn", "KernelRidge": ".learn", "cross_validate": ".learn", "Series": ".learn",
    "LearningCurveSettings": ".learn", "run_learning_curve": ".learn",
    "KernelRidgeCV": ".learn", "save_model": ".learn", "load_model": ".learn",
    "CoulombMatrix": ".features", "BagOfBonds": ".features", "dataset_molecules": ".features",
    "ScanEngine": ".scan", "ScanSettings": ".scan", "molecule_from_smiles": ".scan", "molecule_from_qm9": ".scan",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
