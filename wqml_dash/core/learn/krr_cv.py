"""`KernelRidgeCV`: KRR that chooses its own sigma and lambda by the package's k-fold cross-validation.

The scikit-learn counterpart of one learning-curve point: the training distances are computed
once, `cv.cross_validate` searches sigma (as multiples of the median training distance) and
lambda on them, and a `krr.KernelRidge` is refit on the whole training set with the best pair.
It is cheaper than ``GridSearchCV(KernelRidge(), ...)``, which recomputes the distances and
refactorises for every pair without reusing anything, and it chooses exactly what a learning
curve would (same folds, same grid, same search).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .backends import get_backend
from .cv import DEFAULT_LAMBDAS, DEFAULT_SIGMA_FACTORS, MEDIAN_SAMPLE, cross_validate, median_distance
from .krr import KernelRidge, NotFittedYetError, SigmaWarning, validate_data
from .metrics import Metric, check_metric, prepare


class KernelRidgeCV(RegressorMixin, BaseEstimator):
    """Kernel ridge regression with sigma and lambda chosen by k-fold cross-validation (MAE).

    Parameters
    ----------
    metric : 'l1', 'l2' or 'w1' (kernels as in `KernelRidge`)
    sigma_factors : sigma grid, as multiples of the median training distance
        (default `cv.DEFAULT_SIGMA_FACTORS`: 1/4 to 4096 in powers of two)
    lambdas : lambda grid (default `cv.DEFAULT_LAMBDAS`)
    folds : number of folds (at least 2, at most the number of training samples)
    search : how `cv.cross_validate` moves on the grid ('grid', 'local'); None: its default
    seed : shuffles the folds
    precomputed : ``fit`` takes (n, n) training distances and ``predict`` (m, n) distances, as
        `KernelRidge`'s ``precomputed``
    device : where to compute ('cpu', 'cuda', 'auto', 'torch-cpu'), as `KernelRidge`'s

    Attributes
    ----------
    sigma_, lam_ : the chosen hyperparameters (sigma in the metric's distance units)
    sigma_factor_ : ``sigma_`` over the median training distance
    cv_mae_ : cross-validated MAE at the optimum, in the targets' units
    best_score_ : ``-cv_mae_`` (scikit-learn's convention: larger is better)
    cv_results_ : dict of (p,) arrays over the searched (sigma, lambda) pairs, like
        ``GridSearchCV.cv_results_`` (``pandas.DataFrame(cv_results_)`` gives a table):
        ``param_sigma``, ``param_sigma_factor``, ``param_lam``, ``mean_test_mae`` (NaN where the
        search did not evaluate, inf where the solve failed), ``mean_test_score`` (= -MAE) and
        ``rank_test_score`` (1 = chosen)
    cv_ : the `cv.CVResult` itself
    best_estimator_ : the `KernelRidge` refit on all training data with ``sigma_`` and ``lam_``
        (what `model_io.save_model` saves)
    n_features_in_ : d (representations) or n (precomputed)
    """

    def __init__(self, metric: Metric = "w1", sigma_factors=DEFAULT_SIGMA_FACTORS, lambdas=DEFAULT_LAMBDAS,
                 folds: int = 5, *, search: str | None = None, seed: int = 0, precomputed: bool = False,
                 device: str = "cpu"):
        self.metric = metric
        self.sigma_factors = sigma_factors
        self.lambdas = lambdas
        self.folds = folds
        self.search = search
        self.seed = seed
        self.precomputed = precomputed
        self.device = device

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.pairwise = bool(self.precomputed)
        return tags

    def fit(self, X, y) -> KernelRidgeCV:
        """Cross-validate sigma and lambda on X (n, d) (or (n, n) distances) and targets y (n,),
        then refit on all of it.

        Raises
        ------
        ValueError
            with fewer samples than folds
        errors.SolveError
            if no pair of the grid gives a positive definite system
        """
        check_metric(self.metric)
        backend = get_backend(self.device)
        if self.precomputed:
            y = np.asarray(y, dtype=np.float64)
            distance = X
            n = distance.shape[0]
            if tuple(distance.shape) != (n, n) or y.shape != (n,):
                raise ValueError(f"precomputed=True needs (n, n) training distances and (n,) targets, "
                                 f"got {tuple(distance.shape)} and {y.shape}")
            self.n_features_in_ = n
        else:
            X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
            y = np.asarray(y, dtype=np.float64)
            distance = backend.distances(self.metric, prepare(self.metric, X), presorted=True)
        if not 2 <= int(self.folds) <= y.size:
            raise ValueError(f"{y.size} sample{'s' if y.size != 1 else ''} given: {int(self.folds)}-fold "
                             f"cross-validation needs at least {max(int(self.folds), 2)}")
        options = {} if self.search is None else {"search": self.search}
        cv = cross_validate(distance, y, self.metric, folds=int(self.folds), sigma_factors=self.sigma_factors,
                            lambdas=self.lambdas, seed=self.seed, backend=backend, **options)
        median = median_distance(backend.to_numpy(distance[:MEDIAN_SAMPLE, :MEDIAN_SAMPLE]))
        self.cv_ = cv
        self.sigma_, self.lam_, self.cv_mae_ = float(cv.sigma), float(cv.lam), float(cv.mae)
        self.sigma_factor_ = self.sigma_ / median
        self.best_score_ = -self.cv_mae_
        self.cv_results_ = _results_table(cv, median)
        with warnings.catch_warnings():  # a sigma chosen by CV is the data's answer, not a slip
            warnings.simplefilter("ignore", SigmaWarning)
            self.best_estimator_ = KernelRidge(self.metric, self.sigma_, self.lam_, precomputed=self.precomputed,
                                               device=self.device).fit(distance if self.precomputed else X, y)
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "best_estimator_")

    def predict(self, X, **options) -> np.ndarray:
        """(m,) predictions of the refit model (see `KernelRidge.predict`), in the targets' units."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedYetError(f"this {type(self).__name__} is not fitted yet: call fit first")
        check_is_fitted(self)
        if not self.precomputed:
            X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.best_estimator_.predict(X, **options)


def _results_table(cv, median: float) -> dict[str, np.ndarray]:
    """``cv_results_``: one entry per (sigma, lambda) of the searched range, sigma-major."""
    sigmas = np.asarray(cv.sigmas, dtype=float)
    lambdas = np.asarray(cv.lambdas, dtype=float)
    mae = np.asarray(cv.scores, dtype=float).ravel()
    order = np.argsort(np.where(np.isnan(mae), np.inf, mae), kind="stable")
    rank = np.empty(mae.size, dtype=np.int64)
    rank[order] = np.arange(1, mae.size + 1)
    return {"param_sigma": np.repeat(sigmas, lambdas.size), "param_sigma_factor": np.repeat(sigmas / median,
                                                                                             lambdas.size),
            "param_lam": np.tile(lambdas, sigmas.size), "mean_test_mae": mae, "mean_test_score": -mae,
            "rank_test_score": rank}
