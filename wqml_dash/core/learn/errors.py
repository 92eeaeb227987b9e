"""The errors of the learning layer, in one place (backends, the estimator and cross-validation raise them)."""

from __future__ import annotations

import numpy as np


class SolveError(np.linalg.LinAlgError):
    """``K + lambda I`` is not numerically positive definite (raise lambda, or lower sigma)."""


class DeviceError(ValueError):
    """A compute device that is unknown or not usable here (no PyTorch, no CUDA device)."""


def not_positive_definite(lam: float) -> SolveError:
    """The one message for a failed factorisation, whichever backend failed."""
    return SolveError(f"K + {lam:g} I is not positive definite: increase lambda")
