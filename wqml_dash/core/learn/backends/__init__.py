"""Compute backends of the KRR engine: where distances, kernels, factorisations and predictions run.

A backend does five things, and nothing else (`Backend`): distance matrices, a kernel from
distances, a factor/solve for the dual coefficients, predictions from distances, and the k-fold
cross-validation scores of one distance matrix. Two implement it:

- `numpy_backend.NumpyBackend` ('cpu'): numba kernels and LAPACK, the default everywhere;
- `torch_backend.TorchBackend` ('cuda', or torch's 'cpu' device in the tests): PyTorch, imported
  only when asked for, so torch stays an optional dependency.

`get_backend(device)` picks one; the estimator (`..krr.KernelRidge`), cross-validation (`..cv`) and
the learning-curve plan (`..plan`) talk to a backend only through this interface.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from ..errors import DeviceError

#: Devices a user can ask for: 'auto' is the GPU where one is present, else the CPU.
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
#: PyTorch on the CPU: not for users (the 'cpu' backend is faster), for checking the PyTorch code
#: where there is no GPU.
TORCH_CPU = "torch-cpu"


class FoldScorer(Protocol):
    """k-fold cross-validation scores of one distance matrix (built by `Backend.folds`)."""

    def mae(self, sigma: float, lambdas) -> np.ndarray:
        """(len(lambdas),) cross-validated MAE in the target's units; inf where a solve failed."""


class Backend(Protocol):
    """What the KRR engine needs from a place to compute. Arrays may be the backend's own type
    (a torch tensor); results that leave the engine (coefficients, predictions) are NumPy."""

    name: str  # the device string that gives this backend back from `get_backend`

    def distances(self, metric: str, X, Y=None, *, presorted: bool = False):
        """(n, m) distances of ``metric`` between rows of X (n, d) and Y (m, d), or X with itself."""

    def kernel(self, distance, metric: str, sigma: float):
        """(n, m) kernel matrix from distances (Laplacian for L1 and W1, Gaussian for L2)."""

    def solve(self, distance, y: np.ndarray, metric: str, sigma: float, lam: float, *,
              overwrite: bool = False) -> np.ndarray:
        """Dual coefficients (n,) of ``(K + lam I) a = y`` from (n, n) training distances; raises
        `errors.SolveError`. ``overwrite`` lets the backend reuse the distances' memory."""

    def predict(self, distance, dual_coef: np.ndarray, metric: str, sigma: float,
                columns: np.ndarray | None = None) -> np.ndarray:
        """``K(distance[:, columns]) @ dual_coef``: (m,) predictions from (m, n) distances."""

    def folds(self, distance, y: np.ndarray, metric: str, val: list, train: list, cancel) -> FoldScorer:
        """A scorer of the folds ``val``/``train`` (lists of index arrays) on one distance matrix."""

    def to_numpy(self, array) -> np.ndarray:
        """The array as a NumPy array on the host."""


def torch_available() -> bool:
    """True if PyTorch can be imported."""
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def cuda_available() -> bool:
    """True if PyTorch is installed and sees a CUDA device."""
    if not torch_available():
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' where a CUDA device is present, else 'cpu'; checks that 'cuda' is usable.

    Raises
    ------
    DeviceError
        (a ValueError) for an unknown device, or 'cuda' without PyTorch or a CUDA device.
    """
    if device not in DEVICES:
        raise DeviceError(f"unknown device {device!r}; choose one of {list(DEVICES)}")
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device == "cuda" and not cuda_available():
        why = "PyTorch is not installed" if not torch_available() else "PyTorch sees no CUDA device"
        raise DeviceError(f"device 'cuda' asked for, but {why}; use --device cpu")
    return device


def get_backend(device: str = "cpu") -> Backend:
    """The backend for a device: 'cpu' -> NumPy/numba/LAPACK; 'cuda' (or 'auto' on a GPU machine)
    -> PyTorch; 'torch-cpu' -> PyTorch on its CPU device (how CI tests the PyTorch backend).

    Raises
    ------
    DeviceError
        as `resolve_device`
    """
    if device == TORCH_CPU:
        from .torch_backend import TorchBackend

        return TorchBackend("cpu")
    device = resolve_device(device)
    if device == "cpu":
        from .numpy_backend import NumpyBackend

        return NumpyBackend()
    from .torch_backend import TorchBackend

    return TorchBackend(device)


def backend_of(array) -> Backend:
    """The backend whose arrays ``array`` is: a torch tensor's (on its device), else NumPy's."""
    if isinstance(array, np.ndarray):
        from .numpy_backend import NumpyBackend

        return NumpyBackend()
    from .torch_backend import TorchBackend

    return TorchBackend(str(array.device))
