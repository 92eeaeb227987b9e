"""The CPU backend: numba-compiled distances and kernels, LAPACK's Cholesky, fused predictions.

No kernel matrix is formed that is not factorised: a kernel block is written from the distances
straight into one reused Fortran-ordered workspace that LAPACK factorises in place, and
predictions are kernel-vector products computed from distances (`..kernels`).
"""

from __future__ import annotations

import numpy as np

from ..errors import SolveError
from ..kernels import kernel_block, kernel_from_distances, kernel_matvec
from ..metrics import distances
from ..solvers import cholesky_solve_in_place


class NumpyBackend:
    """`Backend` on the CPU (numba + LAPACK). Stateless: every instance is the same."""

    name = "cpu"

    def __repr__(self) -> str:
        return "NumpyBackend()"

    def distances(self, metric, X, Y=None, *, presorted=False) -> np.ndarray:
        return distances(metric, X, Y, presorted=presorted)

    def kernel(self, distance, metric, sigma) -> np.ndarray:
        return kernel_from_distances(distance, metric, sigma, out=np.empty_like(distance, dtype=np.float64))

    def solve(self, distance, y, metric, sigma, lam, *, overwrite=False) -> np.ndarray:
        n = distance.shape[0]
        if overwrite and distance.flags.c_contiguous and distance.dtype == np.float64:
            # The transpose of a symmetric C-ordered matrix is the same matrix, Fortran-ordered:
            # entry (a, b) is read and then written by the same iteration, so in place is safe.
            work = distance.T
        else:
            work = np.empty((n, n), order="F")
        kernel_block(distance, np.arange(n), metric, sigma, lam, work)
        return cholesky_solve_in_place(work, y, lam)

    def predict(self, distance, dual_coef, metric, sigma, columns=None) -> np.ndarray:
        return kernel_matvec(distance, None, columns, metric, sigma, dual_coef)

    def folds(self, distance, y, metric, val, train, cancel) -> NumpyFolds:
        return NumpyFolds(distance, y, metric, val, train, cancel)

    def to_numpy(self, array) -> np.ndarray:
        return np.asarray(array)


class NumpyFolds:
    """k-fold CV scores of (sigma, lambdas) on one distance matrix, with one reused workspace.

    Parameters
    ----------
    distance : (n, n) symmetric distances
    y : (n,) targets
    metric : 'l1', 'l2' or 'w1'
    val, train : lists of (fold size,) and (n - fold size,) index arrays (`..cv.fold_split`)
    cancel : checked between factorisations (a `CancelToken` or None)
    """

    def __init__(self, distance, y, metric, val, train, cancel):
        self.distance, self.y, self.metric, self.cancel = distance, np.asarray(y, dtype=np.float64), metric, cancel
        self.n = self.y.size
        self.val, self.train = val, train
        self._buffer = np.empty(max(len(t) for t in train) ** 2)

    def _workspace(self, m):
        return self._buffer[: m * m].reshape((m, m), order="F")

    def mae(self, sigma: float, lambdas) -> np.ndarray:
        """(len(lambdas),) cross-validated MAE; inf where a fold's solve failed."""
        lambdas = np.atleast_1d(np.asarray(lambdas, dtype=float))
        abs_err = np.zeros(lambdas.size)
        failed = np.zeros(lambdas.size, dtype=bool)
        for tr, va in zip(self.train, self.val, strict=True):
            alphas = np.zeros((tr.size, lambdas.size))
            for j, lam in enumerate(lambdas):
                if self.cancel is not None:
                    self.cancel.check()
                if failed[j]:
                    continue
                work = kernel_block(self.distance, tr, self.metric, sigma, lam, self._workspace(tr.size))
                try:
                    alphas[:, j] = cholesky_solve_in_place(work, self.y[tr], lam)
                except SolveError:
                    failed[j] = True
            pred = kernel_matvec(self.distance, va, tr, self.metric, sigma, alphas)
            abs_err += np.abs(pred - self.y[va, None]).sum(axis=0)
        return np.where(failed, np.inf, abs_err / self.n)
