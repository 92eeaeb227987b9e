"""What a learning curve gives: one `CurvePoint` per (series, size), a `LearningCurveResult`, and the
error statistics of a test set (`error_stats`), the same in the CLI, the store and the app."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

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
    """One learning-curve point. Errors in the target's units (kcal/mol for the default)."""

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

    @classmethod
    def from_predictions(cls, order: str, metric: str, n_train: int, cv, predictions: np.ndarray,
                         y_test: np.ndarray, fit_seconds: float, predict_seconds: float) -> CurvePoint:
        """The point of a model chosen by ``cv`` (a `cv.CVResult`) that predicted ``y_test``."""
        stats = error_stats(y_test, predictions)
        return cls(order=order, metric=metric, n_train=n_train, mae=stats["mae"], rmse=stats["rmse"],
                   sigma=cv.sigma, lam=cv.lam, cv_mae=cv.mae, fit_seconds=fit_seconds,
                   predict_seconds=predict_seconds, predictions=predictions)

    @property
    def seconds(self) -> float:
        return self.fit_seconds + self.predict_seconds

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("predictions")
        d["lambda"] = d.pop("lam")
        d["seconds"] = self.seconds
        return d


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
