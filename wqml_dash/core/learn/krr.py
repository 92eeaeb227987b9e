"""The KRR estimator: kernel ridge regression on the L1 (Laplacian), L2 (Gaussian) or W1 kernel.

One estimator for every use in the package (learning curves, scans, benchmarks), and a
scikit-learn estimator (``RegressorMixin``, ``BaseEstimator``): it works in ``clone``,
``Pipeline``, ``cross_val_score`` and ``GridSearchCV``, and passes scikit-learn's estimator
checks (``tests/core/test_sklearn_estimator.py``; ``benchmarks/results/estimator_checks.md``
lists those skipped, with the reason). It solves ``(K + lam I) a = y`` (on centred targets if
``center``) and predicts ``K_* a``; a `backends.Backend` does the numbers.

Two input modes, like scikit-learn's ``kernel="precomputed"``:

- representations (default): ``fit(X, y)`` with X (n, d), ``predict(X)`` with X (m, d);
- ``precomputed=True``: ``fit(D, y)`` with the (n, n) training distances of ``metric``,
  ``predict(D)`` with (m, n) distances from the queries to the training points. This is what
  cross-validation and learning curves use: one distance matrix serves many fits. Distances may
  be NumPy arrays or PyTorch tensors and are not copied or checked beyond their shape.

``sigma=None`` (the default) scales the kernel to the data: ``DEFAULT_SIGMA_FACTOR`` times the
median training distance (`cv.median_distance`). `KernelRidgeCV` (module `krr_cv`) chooses
sigma and lambda by cross-validation instead.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from .backends import Backend, get_backend
from .cv import MEDIAN_SAMPLE, median_distance
from .metrics import Metric, check_metric, prepare

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)

#: ``sigma=None`` uses this multiple of the median training distance. On 1,000 QM9 molecules
#: (sorted and random CMs, lambda 1e-8) 8x lies within 2 % of the best test MAE of the grid's
#: 4x-16x for L1 and W1 and within 20 % for L2 (`cv.DEFAULT_SIGMA_FACTORS` spans 1/4x to 4096x):
#: a model that learns, never the near-diagonal kernel of a sigma far below the distances.
DEFAULT_SIGMA_FACTOR = 8.0
#: An explicit sigma whose kernel at the median training distance is below this warns
#: (`SigmaWarning`): every query away from the training points would be predicted as 0 (or as
#: the training mean with ``center=True``).
NEGLIGIBLE_KERNEL = 1e-10


class NotFittedYetError(NotFittedError, RuntimeError):
    """``predict`` before ``fit``: scikit-learn's `NotFittedError` (and a RuntimeError, as before)."""


class SigmaWarning(UserWarning):
    """An explicit sigma so small that the kernel between typical training points vanishes."""


def kernel_at(metric: str, distance: float, sigma: float) -> float:
    """The kernel value ``k(distance)`` of ``metric`` at one distance (same units as sigma)."""
    ratio = distance / sigma
    return float(np.exp(-0.5 * ratio * ratio) if metric == "l2" else np.exp(-ratio))


class KernelRidge(RegressorMixin, BaseEstimator):
    """Kernel ridge regression with a distance-based kernel.

    Parameters
    ----------
    metric : 'l1' (Laplacian ``exp(-D / sigma)``), 'l2' (Gaussian ``exp(-D^2 / (2 sigma^2))``) or
        'w1' (``exp(-W1 / sigma)``)
    sigma : kernel length scale, in the units of the metric's distances; None (default):
        ``DEFAULT_SIGMA_FACTOR`` (8) times the median training distance, fitted as ``sigma_``.
        For Coulomb matrices of QM9 the cross-validated optimum is about 4-64 times the median
        (`KernelRidgeCV`, `cv.cross_validate`). An explicit sigma is used as given; one far
        below the distances (kernel at the median distance < 1e-10) warns with `SigmaWarning`
        (representation mode only).
    lam : regularisation lambda added to the kernel's diagonal (sklearn's ``alpha``)
    precomputed : ``fit`` and ``predict`` take distances instead of representations (see above)
    center : subtract the training mean from the targets before the fit and add it back to the
        predictions, so that far from every training point the model returns the mean, not 0
    device : 'cpu' (NumPy/numba/LAPACK), 'cuda' or 'auto' (PyTorch on a GPU), 'torch-cpu'
        (PyTorch on the CPU, for checking it); precomputed distances may be arrays or tensors

    Attributes
    ----------
    dual_coef_ : (n,) the solution ``a`` of ``(K + lam I) a = y - y_offset_``
    sigma_ : the length scale used (``sigma``, or the one scaled to the data), distance units
    y_offset_ : the training mean if ``center``, else 0.0 (target units)
    X_fit_ : (n, d) training representations as the metric compares them (for W1 each row
        sorted); None when ``precomputed``
    n_train_ : number of training points
    n_features_in_ : d (representations) or n (precomputed: columns of the distances)
    """

    def __init__(self, metric: Metric = "w1", sigma: float | None = None, lam: float = 1e-8, *,
                 precomputed: bool = False, center: bool = False, device: str = "cpu"):
        self.metric = metric
        self.sigma = sigma
        self.lam = lam
        self.precomputed = precomputed
        self.center = center
        self.device = device

    def set_params(self, **params) -> KernelRidge:
        """Set parameters by name; unknown names raise ValueError listing the known ones."""
        known = self.get_params(deep=False)
        for k in params:
            if k not in known:
                raise ValueError(f"unknown parameter {k!r}; known: {sorted(known)}")
        return super().set_params(**params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = bool(self.precomputed)
        return tags

    def _backend(self) -> Backend:
        return get_backend(self.device)

    def _check_params(self) -> None:
        check_metric(self.metric)
        if self.sigma is not None and not (np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma must be a positive number or None (scaled to the data), got {self.sigma!r}")
        if not (np.isfinite(self.lam) and self.lam >= 0):
            raise ValueError(f"lam must be a non-negative number, got {self.lam!r}")

    def fit(self, X, y, *, overwrite: bool = False) -> KernelRidge:
        """Fit on representations X (n, d), or on (n, n) training distances if ``precomputed``.

        Parameters
        ----------
        X : (n, d) representations, or (n, n) symmetric distances of ``metric``
        y : (n,) targets
        overwrite : (precomputed only) let the fit turn a C-contiguous float64 ``X`` into its
            Cholesky factor in place: no memory beyond the distances (32,000 molecules: 8.2 GB)

        Raises
        ------
        errors.SolveError
            if ``K + lam I`` is not numerically positive definite
        """
        self._check_params()
        if self.precomputed:
            y = np.asarray(y, dtype=np.float64)
            distance, self.X_fit_ = X, None
            n = distance.shape[0]
            if tuple(distance.shape) != (n, n) or y.shape != (n,):
                raise ValueError(f"precomputed=True needs (n, n) training distances and (n,) targets, "
                                 f"got {tuple(distance.shape)} and {y.shape}")
            self.n_features_in_ = n
            backend = self._backend()
        else:
            X, y = self._validate_training(X, y)
            self.X_fit_ = prepare(self.metric, X)
            backend = self._backend()
            distance = backend.distances(self.metric, self.X_fit_, presorted=True)
            overwrite = True  # our own matrix
        self.sigma_ = self._sigma_for(distance, backend)
        self.y_offset_ = float(y.mean()) if self.center else 0.0
        self.dual_coef_ = backend.solve(distance, y - self.y_offset_, self.metric, self.sigma_, self.lam,
                                        overwrite=overwrite)
        self.n_train_ = int(y.size)
        return self

    def _validate_training(self, X, y) -> tuple[np.ndarray, np.ndarray]:
        if y is not None and hasattr(X, "shape") and np.ndim(y) == 1 and len(y) != X.shape[0]:
            raise ValueError(f"y must have shape ({X.shape[0]},), got ({len(y)},)")
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        return X, np.asarray(y, dtype=np.float64)

    def _sigma_for(self, distance, backend: Backend) -> float:
        """``sigma``, or the default scaled to the data; warns for an explicit one far too small."""
        if self.sigma is not None and self.precomputed:
            return float(self.sigma)  # the package's own callers choose sigma by CV: no extra pass
        median = median_distance(backend.to_numpy(distance[:MEDIAN_SAMPLE, :MEDIAN_SAMPLE]))
        if self.sigma is None:
            return DEFAULT_SIGMA_FACTOR * median
        if kernel_at(self.metric, median, self.sigma) < NEGLIGIBLE_KERNEL:
            warnings.warn(f"sigma={self.sigma:g} is far below the median training distance ({median:.4g}): the "
                          f"kernel between typical points is < {NEGLIGIBLE_KERNEL:g}, so the model predicts "
                          f"{'the training mean' if self.center else '0'} away from the training points; "
                          f"use sigma=None (scaled to the data) or KernelRidgeCV", SigmaWarning, stacklevel=3)
        return float(self.sigma)

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "dual_coef_")

    def _check_fitted(self) -> None:
        try:
            check_is_fitted(self)
        except NotFittedError:
            raise NotFittedYetError(f"this {type(self).__name__} is not fitted yet: call fit first") from None

    def predict(self, X, *, columns: np.ndarray | None = None) -> np.ndarray:
        """Predictions (m,) for representations X (m, d), or from (m, >= n) distances if ``precomputed``.

        Parameters
        ----------
        X : (m, d) representations, or (m, n) distances from the queries to the training points
        columns : (precomputed only) the training points' columns in a wider distance matrix (the
            first n of a larger nested training pool), so that no sub-matrix is copied

        Returns
        -------
        (m,) float64 predictions, in the targets' units
        """
        self._check_fitted()
        if self.precomputed:
            return self._backend().predict(X, self.dual_coef_, self.metric, self.sigma_, columns) + self.y_offset_
        if columns is not None:
            raise ValueError("columns applies to precomputed distances only")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        backend = self._backend()
        distance = backend.distances(self.metric, prepare(self.metric, X), self.X_fit_, presorted=True)
        return backend.predict(distance, self.dual_coef_, self.metric, self.sigma_) + self.y_offset_
