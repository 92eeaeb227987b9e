"""The KRR estimator: kernel ridge regression on the L1 (Laplacian), L2 (Gaussian) or W1 kernel.

One estimator for every use in the package (learning curves, scans, benchmarks), in
scikit-learn's style: parameters in ``__init__``, ``fit``/``predict``/``score``, fitted state in
attributes ending in ``_``. It solves ``(K + lam I) a = y`` (on centred targets if ``center``)
and predicts ``K_* a``; a `backends.Backend` does the numbers.

Two input modes, like scikit-learn's ``kernel="precomputed"``:

- representations (default): ``fit(X, y)`` with X (n, d), ``predict(X)`` with X (m, d);
- ``precomputed=True``: ``fit(D, y)`` with the (n, n) training distances of ``metric``,
  ``predict(D)`` with (m, n) distances from the queries to the training points. This is what
  cross-validation and learning curves use: one distance matrix serves many fits.
"""

from __future__ import annotations

import numpy as np

from .backends import Backend, get_backend
from .metrics import Metric, check_metric, prepare


class KernelRidge:
    """Kernel ridge regression with a distance-based kernel.

    Parameters
    ----------
    metric : 'l1' (Laplacian ``exp(-D / sigma)``), 'l2' (Gaussian ``exp(-D^2 / (2 sigma^2))``) or
        'w1' (``exp(-W1 / sigma)``)
    sigma : kernel length scale, in the units of the metric's distances (for Coulomb matrices
        of QM9: about 8-64 times the median training distance; see `cv.cross_validate`)
    lam : regularisation lambda added to the kernel's diagonal (sklearn's ``alpha``)
    precomputed : ``fit`` and ``predict`` take distances instead of representations (see above)
    center : subtract the training mean from the targets before the fit and add it back to the
        predictions, so that far from every training point the model returns the mean, not 0
    device : 'cpu' (NumPy/numba/LAPACK), 'cuda' or 'auto' (PyTorch on a GPU), 'torch-cpu'
        (PyTorch on the CPU, for checking it); precomputed distances may be arrays or tensors

    Attributes
    ----------
    dual_coef_ : (n,) the solution ``a`` of ``(K + lam I) a = y - y_offset_``
    y_offset_ : the training mean if ``center``, else 0.0 (target units)
    X_fit_ : (n, d) training representations as the metric compares them (for W1 each row
        sorted); None when ``precomputed``
    n_train_ : number of training points
    """

    def __init__(self, metric: Metric = "w1", sigma: float = 1.0, lam: float = 1e-8, *,
                 precomputed: bool = False, center: bool = False, device: str = "cpu"):
        self.metric = metric
        self.sigma = sigma
        self.lam = lam
        self.precomputed = precomputed
        self.center = center
        self.device = device

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"KernelRidge({params})"

    def get_params(self, deep: bool = True) -> dict:
        return {"metric": self.metric, "sigma": self.sigma, "lam": self.lam, "precomputed": self.precomputed,
                "center": self.center, "device": self.device}

    def set_params(self, **params) -> KernelRidge:
        for k, v in params.items():
            if k not in self.get_params():
                raise ValueError(f"unknown parameter {k!r}; known: {sorted(self.get_params())}")
            setattr(self, k, v)
        return self

    def _backend(self) -> Backend:
        return get_backend(self.device)

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
        check_metric(self.metric)
        y = np.asarray(y, dtype=np.float64)
        if self.precomputed:
            distance, self.X_fit_ = X, None
            n = distance.shape[0]
            if tuple(distance.shape) != (n, n) or y.shape != (n,):
                raise ValueError(f"precomputed=True needs (n, n) training distances and (n,) targets, "
                                 f"got {tuple(distance.shape)} and {y.shape}")
            backend = self._backend()
        else:
            self.X_fit_ = prepare(self.metric, X)
            if y.shape != (self.X_fit_.shape[0],):
                raise ValueError(f"y must have shape ({self.X_fit_.shape[0]},), got {y.shape}")
            backend = self._backend()
            distance = backend.distances(self.metric, self.X_fit_, presorted=True)
            overwrite = True  # our own matrix
        self.y_offset_ = float(y.mean()) if self.center else 0.0
        self.dual_coef_ = backend.solve(distance, y - self.y_offset_, self.metric, self.sigma, self.lam,
                                        overwrite=overwrite)
        self.n_train_ = int(y.size)
        return self

    def predict(self, X, *, columns: np.ndarray | None = None) -> np.ndarray:
        """Predictions (m,) for representations X (m, d), or from (m, >= n) distances if ``precomputed``.

        Parameters
        ----------
        X : (m, d) representations, or (m, n) distances from the queries to the training points
        columns : (precomputed only) the training points' columns in a wider distance matrix (the
            first n of a larger nested training pool), so that no sub-matrix is copied
        """
        if not hasattr(self, "dual_coef_"):
            raise RuntimeError("this KernelRidge is not fitted yet: call fit first")
        if self.precomputed:
            return self._backend().predict(X, self.dual_coef_, self.metric, self.sigma, columns) + self.y_offset_
        if columns is not None:
            raise ValueError("columns applies to precomputed distances only")
        backend = self._backend()
        distance = backend.distances(self.metric, prepare(self.metric, X), self.X_fit_, presorted=True)
        return backend.predict(distance, self.dual_coef_, self.metric, self.sigma) + self.y_offset_

    def score(self, X, y) -> float:
        """Coefficient of determination R^2 of the predictions for X against y (1 is perfect)."""
        y = np.asarray(y, dtype=np.float64)
        residual = float(((y - self.predict(X)) ** 2).sum())
        total = float(((y - y.mean()) ** 2).sum())
        return 1.0 - residual / total if total > 0 else float("nan")
