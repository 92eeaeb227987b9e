"""Learning: from representations to predictions, and the learning-curve protocol.

- `metrics`: L1, L2 and W1 distance matrices; `kernels`: kernels from distances;
- `krr`: the one KRR estimator (`KernelRidge`), used by learning curves, scans and benchmarks;
  `krr_cv`: `KernelRidgeCV`, which chooses its sigma and lambda by `cv`; both scikit-learn estimators;
- `model_io`: models saved and loaded without pickle; `domain`: is a molecule inside a model's training set;
- `backends`: where the numbers are computed (NumPy/numba/LAPACK, or PyTorch on a GPU);
  `solvers`: the Cholesky solves of the CPU backend; `errors`: what they raise;
- `cv`: choosing sigma and lambda (k-fold and closed-form leave-one-out), the one grid;
- `series`: `Series`, one (order, metric, representation), named the same everywhere;
- `settings`, `plan`, `learning_curve`, `results`: the paper's protocol (DESIGN.md) as one plan of
  point tasks, run in this process (`run_learning_curve`) or on Dask (`wqml_dash.runs`).
"""

from ..._lazy import lazy_exports

_EXPORTS = {
    "METRICS": ".metrics", "distances": ".metrics", "prepare": ".metrics",
    "kernel_from_distances": ".kernels", "KernelRidge": ".krr", "SolveError": ".errors",
    "cross_validate": ".cv", "select_by_loo": ".cv", "Series": ".series",
    "LearningCurveSettings": ".settings", "PAPER_SERIES": ".settings",
    "run_learning_curve": ".learning_curve", "CurvePoint": ".results", "LearningCurveResult": ".results",
    "get_backend": ".backends",
    "KernelRidgeCV": ".krr_cv", "SigmaWarning": ".krr", "save_model": ".model_io", "load_model": ".model_io",
    "ModelFormatError": ".model_io", "check_domain": ".domain", "OutOfDomainError": ".domain",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
