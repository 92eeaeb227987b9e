"""The scan's KRR models: one `Series` each, fitted on a few grid points, predicting the whole scan.

Sigma and lambda are chosen by closed-form leave-one-out (`core.learn.cv.select_by_loo`); the fit
is the package's one estimator (`core.learn.krr.KernelRidge`) on centred targets, so that far
from the training points a model returns their mean rather than zero.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np

from ..learn.errors import SolveError
from ..learn.krr import KernelRidge
from ..learn.metrics import Metric
from ..learn.series import Series


@dataclass(frozen=True)
class ScanModel:
    """A model of the explorer: a series, trained on the small or the large training set."""

    series: Series
    large: bool = False

    @property
    def label(self) -> str:
        return self.series.label + (", large training set" if self.large else "")


#: Model name (in links, the CLI and the CSV) -> model.
SCAN_MODELS: dict[str, ScanModel] = {
    "l1_sorted": ScanModel(Series("sorted", "l1")),
    "w1": ScanModel(Series("sorted", "w1")),  # W1 is permutation invariant: any order gives the same model
    "l1_unsorted": ScanModel(Series("unsorted", "l1")),
    "l1_random": ScanModel(Series("random", "l1")),
    "l2_sorted": ScanModel(Series("sorted", "l2")),
    "l1_sorted_large": ScanModel(Series("sorted", "l1"), large=True),
}
MODEL_LABELS: dict[str, str] = {name: model.label for name, model in SCAN_MODELS.items()}


@lru_cache(maxsize=1)
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: without it BLAS keeps its own threading
        return None
    return ThreadpoolController()


@contextmanager
def single_threaded():
    """Run numba and BLAS on one thread inside the block.

    A scan's matrices are tiny (10-80 training points, a few hundred grid points): waking a
    thread pool costs more than the work, and on a busy machine a parallel region waits for
    every core, so one call can take 30 ms instead of 0.1 ms.
    """
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    controller = _blas_controller()
    try:
        if controller is None:
            yield
        else:
            with controller.limit(limits=1, user_api="blas"):
                yield
    finally:
        numba.set_num_threads(previous)


def fit_predict(d_train: np.ndarray, d_query: np.ndarray, y: np.ndarray, metric: Metric,
                sigma: float, lam: float) -> np.ndarray:
    """KRR on centred targets: fit on (n, n) ``d_train``, predict from (m, n) ``d_query``: (m,).

    A nearly singular kernel (a very wide sigma) gets lambda raised a hundredfold, up to six
    times, until it solves: a scan shows a curve rather than an error for any sigma a user types.
    """
    lam_used = lam
    for _ in range(6):
        try:
            model = KernelRidge(metric, sigma, lam_used, precomputed=True, center=True).fit(d_train, y)
            return model.predict(d_query)
        except SolveError:
            lam_used = max(lam_used * 100.0, 1e-12)
    raise SolveError("K + lambda I is not positive definite")
