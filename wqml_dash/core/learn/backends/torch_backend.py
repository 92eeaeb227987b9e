"""The PyTorch backend: distances, kernels, cross-validation and the KRR solve on a torch device.

Optional at run time: this module imports torch only when a `TorchBackend` is made (``device=
"cuda"``, or ``"auto"`` on a machine with a CUDA device). Numbers are float64 throughout, like the
CPU backend, so both give the same models: the tests compare them on torch's CPU device in CI.

Distances are computed in tiles (``tile`` rows of X against all of Y at a time) so the
temporaries stay bounded; W1 sorts each vector once on the device, then takes L1 distances.
"""

from __future__ import annotations

import numpy as np

from ..errors import not_positive_definite
from ..metrics import check_metric


class TorchBackend:
    """`Backend` on a torch device ('cuda', 'cuda:1', or 'cpu' for torch's CPU device).

    Parameters
    ----------
    device : torch device string
    tile : rows of X per distance step (bounds the temporaries)
    """

    def __init__(self, device: str = "cuda", tile: int = 2048):
        import torch

        self.torch = torch
        self.device = device
        self.tile = tile
        self.name = "torch-cpu" if device == "cpu" else device

    def __repr__(self) -> str:
        return f"TorchBackend({self.device!r})"

    def tensor(self, a):
        """``a`` as a float64 tensor on this device (a tensor is moved, an array copied)."""
        if self.torch.is_tensor(a):
            return a.to(self.device, self.torch.float64)
        return self.torch.as_tensor(np.ascontiguousarray(a, dtype=np.float64), device=self.device)

    def distances(self, metric, X, Y=None, *, presorted=False):
        """(n, m) float64 tensor on this device; conventions as `..metrics.distances`."""
        torch = self.torch
        check_metric(metric)
        Xt = self.tensor(X)
        Yt = Xt if Y is None else self.tensor(Y)
        if metric == "w1" and not presorted:
            Xt = torch.sort(Xt, dim=1).values
            Yt = Xt if Y is None else torch.sort(Yt, dim=1).values
        p = 2.0 if metric == "l2" else 1.0
        out = torch.empty((Xt.shape[0], Yt.shape[0]), dtype=torch.float64, device=self.device)
        for i in range(0, Xt.shape[0], self.tile):
            # compute_mode avoids the |x|^2 + |y|^2 - 2xy form: exact differences, as on the CPU
            out[i:i + self.tile] = torch.cdist(Xt[i:i + self.tile], Yt, p=p,
                                               compute_mode="donot_use_mm_for_euclid_dist")
        if metric == "w1":
            out /= Xt.shape[1]
        return out

    def kernel(self, distance, metric, sigma):
        torch = self.torch
        D = self.tensor(distance)
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma}")
        if metric == "l2":
            return torch.exp(-(D * D) / (2.0 * sigma * sigma))
        return torch.exp(-D / sigma)

    def solve(self, distance, y, metric, sigma, lam, *, overwrite=False) -> np.ndarray:
        K = self.kernel(distance, metric, sigma)
        K.diagonal().add_(lam)
        L, info = self.torch.linalg.cholesky_ex(K)
        if int(info) != 0:
            raise not_positive_definite(lam)
        return self.to_numpy(self.torch.cholesky_solve(self.tensor(y)[:, None], L)[:, 0])

    def predict(self, distance, dual_coef, metric, sigma, columns=None) -> np.ndarray:
        D = self.tensor(distance)
        if columns is not None:
            D = D[:, self.torch.as_tensor(np.asarray(columns), device=self.device)]
        return self.to_numpy(self.kernel(D, metric, sigma) @ self.tensor(dual_coef))

    def folds(self, distance, y, metric, val, train, cancel) -> TorchFolds:
        return TorchFolds(self, distance, y, metric, val, train, cancel)

    def to_numpy(self, array) -> np.ndarray:
        return array.cpu().numpy() if self.torch.is_tensor(array) else np.asarray(array)


class TorchFolds:
    """k-fold CV scores of (sigma, lambdas) on a torch device: the twin of `numpy_backend.NumpyFolds`."""

    def __init__(self, backend: TorchBackend, distance, y, metric, val, train, cancel):
        torch = backend.torch
        self.backend, self.metric, self.cancel = backend, metric, cancel
        self.D = backend.tensor(distance)
        self.y = backend.tensor(y)
        self.n = int(self.y.shape[0])
        self.val = [torch.as_tensor(np.asarray(v), device=backend.device) for v in val]
        self.train = [torch.as_tensor(np.asarray(t), device=backend.device) for t in train]

    def mae(self, sigma: float, lambdas) -> np.ndarray:
        """(len(lambdas),) cross-validated MAE; inf where a fold's factorisation failed."""
        torch = self.backend.torch
        lambdas = np.atleast_1d(np.asarray(lambdas, dtype=float))
        abs_err = np.zeros(lambdas.size)
        failed = np.zeros(lambdas.size, dtype=bool)
        for tr, va in zip(self.train, self.val, strict=True):
            K = self.backend.kernel(self.D[tr][:, tr], self.metric, sigma)
            K_va = self.backend.kernel(self.D[va][:, tr], self.metric, sigma)
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
