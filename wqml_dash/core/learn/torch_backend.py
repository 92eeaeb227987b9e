"""The PyTorch backend: distances, kernels, cross-validation and the KRR solve on a GPU.

Optional at run time: nothing imports torch unless ``device="cuda"`` (or ``"auto"`` on a
machine with a CUDA device) is asked for. Numbers are float64 throughout, like the CPU
backend, so both give the same models (the tests compare them on torch's CPU device).

Distances are computed in tiles (``tile`` rows of X against all of Y at a time) so the
temporaries stay bounded; W1 sorts each vector once on the device, then takes L1 distances.
"""

from __future__ import annotations

import numpy as np

from .metrics import Metric, check_metric

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


def torch_available() -> bool:
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
    """'auto' -> 'cuda' where a CUDA device is present, else 'cpu'; checks 'cuda' is usable.

    Raises
    ------
    ValueError
        for an unknown device, or 'cuda' without PyTorch or a CUDA device.
    """
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose one of {list(DEVICES)}")
    if device == "auto":
        return "cuda" if cuda_available() else "cpu"
    if device == "cuda" and not cuda_available():
        why = "PyTorch is not installed" if not torch_available() else "PyTorch sees no CUDA device"
        raise ValueError(f"device 'cuda' asked for, but {why}; use --device cpu")
    return device


def _tensor(a, device):
    import torch

    return torch.as_tensor(np.ascontiguousarray(a, dtype=np.float64), device=device)


def distances_torch(metric: Metric, X, Y=None, *, presorted: bool = False, device: str = "cuda",
                    tile: int = 2048, as_numpy: bool = True):
    """Distance matrix on a torch device; same conventions as `metrics.distances`.

    Parameters
    ----------
    metric : 'l1', 'l2' or 'w1'
    X : (n, d) array or float64 tensor
    Y : (m, d) or None (X with itself)
    presorted : W1 inputs already sorted (`metrics.prepare`)
    device : torch device string ('cuda', 'cpu', 'cuda:1', ...)
    tile : rows of X per step (bounds the temporaries)
    as_numpy : return a numpy array (else a tensor on ``device``)

    Returns
    -------
    (n, m) float64
    """
    import torch

    check_metric(metric)
    Xt = _tensor(X, device) if not torch.is_tensor(X) else X.to(device, torch.float64)
    Yt = Xt if Y is None else (_tensor(Y, device) if not torch.is_tensor(Y) else Y.to(device, torch.float64))
    if metric == "w1" and not presorted:
        Xt = torch.sort(Xt, dim=1).values
        Yt = Xt if Y is None else torch.sort(Yt, dim=1).values
    p = 2.0 if metric == "l2" else 1.0
    out = torch.empty((Xt.shape[0], Yt.shape[0]), dtype=torch.float64, device=device)
    for i in range(0, Xt.shape[0], tile):
        # compute_mode avoids the |x|^2 + |y|^2 - 2xy form: exact differences, as on the CPU
        out[i:i + tile] = torch.cdist(Xt[i:i + tile], Yt, p=p,
                                      compute_mode="donot_use_mm_for_euclid_dist")
    if metric == "w1":
        out /= Xt.shape[1]
    return out.cpu().numpy() if as_numpy else out


def _kernel(D, metric: str, sigma: float):
    import torch

    if metric == "l2":
        return torch.exp(-(D * D) / (2.0 * sigma * sigma))
    return torch.exp(-D / sigma)


class TorchFolds:
    """k-fold CV scores of (sigma, lambdas) on a device: the torch twin of `krr._Folds`.

    Parameters
    ----------
    distance : (n, n) symmetric distances (numpy or tensor)
    y : (n,) targets
    metric : 'l1', 'l2' or 'w1'
    val, train : lists of (fold size,) and (n - fold size,) index arrays (`krr.fold_indices`)
    cancel : checked between factorisations
    device : torch device
    """

    def __init__(self, distance, y, metric, val, train, cancel, device):
        import torch

        self.torch = torch
        self.metric, self.cancel, self.device = metric, cancel, device
        self.D = distance if torch.is_tensor(distance) else _tensor(distance, device)
        self.y = _tensor(y, device)
        self.n = int(self.y.shape[0])
        self.val = [torch.as_tensor(np.asarray(v), device=device) for v in val]
        self.train = [torch.as_tensor(np.asarray(t), device=device) for t in train]

    def mae(self, sigma: float, lambdas) -> np.ndarray:
        """(len(lambdas),) cross-validated MAE; inf where a fold's factorisation failed."""
        torch = self.torch
        lambdas = np.atleast_1d(np.asarray(lambdas, dtype=float))
        abs_err = np.zeros(lambdas.size)
        failed = np.zeros(lambdas.size, dtype=bool)
        for tr, va in zip(self.train, self.val, strict=True):
            K = _kernel(self.D[tr][:, tr], self.metric, sigma)
            K_va = _kernel(self.D[va][:, tr], self.metric, sigma)
            eye = torch.eye(K.shape[0], dtype=K.dtype, device=K.device)
            for j, lam in enumerate(lambdas):
                if self.cancel is not None:
                    self.cancel.check()
                if failed[j]:
                    continue
                L, info = torch.linalg.cholesky_ex(K + lam * eye)
                if int(info) != 0:
                    failed[j] = True
                    continue
                alpha = torch.cholesky_solve(self.y[tr, None], L)[:, 0]
                abs_err[j] += float((K_va @ alpha - self.y[va]).abs().sum())
        return np.where(failed, np.inf, abs_err / self.n)


def fit_torch(distance, y, metric: str, sigma: float, lam: float, device: str) -> np.ndarray:
    """Regression weights alpha (n,) of ``(K + lam I) alpha = y`` on a device.

    Raises
    ------
    krr.SolveError
        if ``K + lam I`` is not numerically positive definite
    """
    import torch

    from .krr import SolveError

    D = distance if torch.is_tensor(distance) else _tensor(distance, device)
    K = _kernel(D, metric, sigma)
    K.diagonal().add_(lam)
    L, info = torch.linalg.cholesky_ex(K)
    if int(info) != 0:
        raise SolveError(f"K + {lam:g} I is not positive definite: increase lambda")
    return torch.cholesky_solve(_tensor(y, device)[:, None], L)[:, 0].cpu().numpy()


def predict_torch(distance, alpha, metric: str, sigma: float, device: str) -> np.ndarray:
    """``K(distance) @ alpha`` on a device: (m,)."""
    import torch

    D = distance if torch.is_tensor(distance) else _tensor(distance, device)
    return (_kernel(D, metric, sigma) @ _tensor(alpha, device)).cpu().numpy()
