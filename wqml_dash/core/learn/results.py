"""What a learning curve gives: one `CurvePoint` per (series, size), a `LearningCurveResult`, and the
error statistics of a test set (`error_stats`), the same in the CLI, the store and the app."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def error_stats(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, largest absolute error and mean signed error (target units) of a test set.

    Parameters
    ----------
    y_true, y_pred : (n,) reference and predicted values

    Returns
    -------
    dict with mae, rmse, max and bias (predicted - reference); NaN for an empty test set
    """
    err = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
    if err.size == 0:
        return {"mae": float("nan"), "rmse": float("nan"), "max": float("nan"), "bias": float("nan")}
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean())),
            "max": float(np.abs(err).max()), "bias": float(err.mean())}


@dataclass
class CurvePoint:
    """One learning-curve point. Errors in the target's units (kcal/mol for the default).

    Attributes
    ----------
    order, metric : the series
    n_train : training-set size
    mae, rmse : test-set errors
    sigma : chosen kernel width, in the metric's distance units
    lam : chosen regularisation
    cv_mae : cross-validated MAE at (sigma, lam)
    fit_seconds, predict_seconds : time spent on the search and fit, and on the test predictions
    predictions : (n_test,) test-set predictions
    sigma_factor : sigma as a multiple of the median training distance (NaN when not recorded)
    at_edge : '' if (sigma, lam) lies inside the searched range, else the edges it sits on
        ('sigma-low', 'sigma-high', 'lambda-low', 'lambda-high', comma-separated): the CV error
        was still falling where the search stopped (`cv.CVResult.at_edge`)
    cv_table : (k, 3) every (sigma, lambda, cross-validated MAE) the search evaluated, the chosen
        one among them; MAE inf where the solve failed (None when not recorded)
    """

    order: str
    metric: str
    n_train: int
    mae: float
    rmse: float
    sigma: float
    lam: float
    cv_mae: float
    fit_seconds: float
    predict_seconds: float
    predictions: np.ndarray = field(repr=False, default=None)
    sigma_factor: float = float("nan")
    at_edge: str = ""
    cv_table: np.ndarray | None = field(repr=False, default=None)

    @classmethod
    def from_predictions(cls, order: str, metric: str, n_train: int, cv, predictions: np.ndarray,
                         y_test: np.ndarray, fit_seconds: float, predict_seconds: float) -> CurvePoint:
        """The point of a model chosen by ``cv`` (a `cv.CVResult`) that predicted ``y_test``."""
        stats = error_stats(y_test, predictions)
        return cls(order=order, metric=metric, n_train=n_train, mae=stats["mae"], rmse=stats["rmse"],
                   sigma=cv.sigma, lam=cv.lam, cv_mae=cv.mae, fit_seconds=fit_seconds,
                   predict_seconds=predict_seconds, predictions=predictions, sigma_factor=cv.sigma_factor,
                   at_edge=cv.at_edge, cv_table=cv.table())

    @property
    def seconds(self) -> float:
        return self.fit_seconds + self.predict_seconds

    def to_json(self) -> dict:
        """The point as JSON-able data: every attribute but the predictions, ``lam`` as ``lambda``,
        ``seconds``, and ``cv_table`` as a list of [sigma, lambda, cv MAE] (MAE null where the solve
        failed)."""
        d = {k: v for k, v in vars(self).items() if k not in ("predictions", "cv_table")}
        d["lambda"] = d.pop("lam")
        d["seconds"] = self.seconds
        d["sigma_factor"] = None if np.isnan(self.sigma_factor) else float(self.sigma_factor)
        d["cv_table"] = cv_table_json(self.cv_table)
        return d


def cv_table_json(table) -> list | None:
    """A (k, 3) CV table (sigma, lambda, MAE) as a JSON-able list of rows; NaN/inf MAE as None."""
    if table is None:
        return None
    return [[float(s), float(lam), float(m) if np.isfinite(m) else None] for s, lam, m in np.asarray(table)]


def cv_table_from_json(rows) -> np.ndarray | None:
    """The inverse of `cv_table_json`: (k, 3) float64, a None MAE as inf (a failed solve)."""
    if rows is None:
        return None
    return np.array([[s, lam, np.inf if m is None else m] for s, lam, m in rows], dtype=float).reshape(-1, 3)


@dataclass
class LearningCurveResult:
    """Points of every series, the test set used, and timings.

    Attributes
    ----------
    config : the settings as a dict
    points : CurvePoint per (series, size), in the order they finished
    test_rows : (n_test,) row positions of the test molecules in the data set
    y_test : (n_test,) their reference values
    distance_seconds : series -> seconds spent on representations and distance matrices
    wall_seconds : total
    data : the data set's `MolecularDataset.identity` (name, content hash, size, target and unit)
    """

    config: dict
    points: list[CurvePoint]
    test_rows: np.ndarray
    y_test: np.ndarray
    distance_seconds: dict[str, float]
    wall_seconds: float
    data: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"config": self.config, "data": self.data, "points": [p.to_json() for p in self.points],
                "distance_seconds": self.distance_seconds, "wall_seconds": self.wall_seconds}
