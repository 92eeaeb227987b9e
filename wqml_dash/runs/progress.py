"""How far a run has come: `RunProgress`, and the relative cost of its points behind the estimate of
the time left."""

from __future__ import annotations

from dataclasses import dataclass

# A point's cost grows like n^3 (the CV solves) plus a fixed part (distances, task overhead);
# used to turn the time spent so far into an estimate of the time left.
_FIXED_COST = 300.0 ** 3


def task_weight(size: int) -> float:
    """Relative cost of a point of training size ``size``, for the estimate of the time left."""
    return float(size) ** 3 + _FIXED_COST


@dataclass
class RunProgress:
    """Where a run stands.

    Attributes
    ----------
    run_id : the run
    status : one of `store.STATUSES`
    done, total : points stored and points of the whole run
    eta_seconds : estimated seconds left (None when unknown or not running here)
    message : one line for people, e.g. 'sorted:l1 n=400 seed 0: MAE 12.31'
    """

    run_id: int
    status: str
    done: int
    total: int
    eta_seconds: float | None
    message: str

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0
