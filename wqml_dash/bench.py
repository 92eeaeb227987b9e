"""`wqml bench`: our distance and kernel matrices and the KRR fit against peer libraries.

Every implementation runs in the same process on the same real QM9 Coulomb matrices (sorted,
435 entries), is checked against ours for agreement, and is timed as the median of several
runs. Peers that are not installed are skipped with a note. Slow per-pair peers (qmllib, scipy's
`wasserstein_distance`, POT) run on a smaller set (``n_peer`` molecules), against ours on exactly
that set; fast ones on ``n`` molecules.

Ratios are like for like: ours computes each pair of a symmetric matrix once, so its peer is
``scipy.spatial.distance.pdist`` (each pair once); ``cdist`` and ``torch.cdist`` compute every pair
twice and are listed with that note. A row timed once says so (``statistic``): it is not a median.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from .core.learn.backends import cuda_available, get_backend
from .core.learn.kernels import kernel_from_distances, kernel_matrix
from .core.learn.krr import KernelRidge
from .core.learn.metrics import distances, l1_distances, sorted_entries


@dataclass
class BenchRow:
    """One timed implementation of one task.

    Attributes
    ----------
    task : what is computed, e.g. "W1 kernel matrix"
    implementation : who computes it, e.g. "wqml-dash (numba, CPU)" or "qmllib"
    shape : (rows, columns) of the result
    median_s : median wall time, seconds
    runs_s : every run's time, seconds
    element_pairs_per_s : rows * columns * entries / median_s (distance tasks)
    ratio : this implementation's median / ours on the same input (peers); 1 for ours
    max_rel_diff : largest relative difference to ours (peers)
    note : anything to know (skipped, a subset, the device, not like for like)
    like_for_like : whether the peer computes what ours computes (False: e.g. every pair twice)
    """

    task: str
    implementation: str
    shape: tuple[int, int]
    median_s: float | None
    runs_s: list[float] = field(default_factory=list)
    element_pairs_per_s: float | None = None
    ratio: float | None = None
    max_rel_diff: float | None = None
    note: str = ""
    like_for_like: bool = True

    @property
    def statistic(self) -> str:
        """'median of N runs', or 'single run' where only one run was timed."""
        return "single run" if len(self.runs_s) == 1 else f"median of {len(self.runs_s)} runs"


def _time(fn: Callable[[], object], repeats: int) -> tuple[float, list[float], object]:
    out = fn()  # warm-up (compilation, caches); its result is what we compare
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), runs, out


def _rel(a, b) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def machine() -> dict:
    """Facts about this machine for the record."""
    info = {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "platform": platform.platform()}
    try:
        import numba

        info["numba_threads"] = numba.get_num_threads()
    except ImportError:  # pragma: no cover
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def qm9_sorted_cms(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, 435) sorted CMs of n seeded random QM9 molecules and their energies (kcal/mol)."""
    from .core.data import load_qm9
    from .core.features.coulomb_matrix import dataset_coulomb_vectors

    qm9 = load_qm9()
    rows = np.random.default_rng(seed).choice(len(qm9), n, replace=False)
    return dataset_coulomb_vectors(qm9, rows, order="sorted"), qm9.energy[rows]


def run_bench(n: int = 2000, n_peer: int = 300, n_fit: int = 4000, repeats: int = 5,
              sigma: float = 4.0, progress: Callable[[str], None] | None = None) -> list[BenchRow]:
    """Run every benchmark; see the module docstring.

    Parameters
    ----------
    n : molecules for the fast distance tasks (an n x n matrix)
    n_peer : molecules for the slow per-pair peers (an n_peer x n_peer matrix)
    n_fit : training molecules for the KRR fit
    repeats : timed runs per implementation (after one warm-up run)
    sigma : W1 kernel width
    progress : called with a line of text before each measurement

    Returns
    -------
    list of BenchRow, ours first within each task
    """
    say = progress or (lambda _msg: None)
    X_all, y_all = qm9_sorted_cms(max(n, n_peer, n_fit) + n_peer)
    d = X_all.shape[1]
    rows: list[BenchRow] = []

    def ours_row(task, impl, shape, fn, pairs=None, note=""):
        med, runs, out = _time(fn, repeats)
        rows.append(BenchRow(task, impl, shape, med, runs,
                             element_pairs_per_s=(pairs * d / med) if pairs else None, ratio=1.0, note=note))
        return med, out

    def peer_row(task, impl, shape, fn, ours_med, ours_out, repeats_=None, pairs=None, note="", like=True):
        say(f"{task}: {impl}")
        try:
            med, runs, out = _time(fn, repeats_ or repeats)
        except ImportError as exc:
            rows.append(BenchRow(task, impl, shape, None, note=f"skipped: {exc.name or exc} not installed"))
            return
        rows.append(BenchRow(task, impl, shape, med, runs,
                             element_pairs_per_s=(pairs * d / med) if pairs else None,
                             ratio=med / ours_med, max_rel_diff=_rel(out, ours_out), note=note,
                             like_for_like=like))

    # 1. W1 kernel matrix on n_peer molecules: the paper authors' code and per-pair peers.
    Xp = X_all[:n_peer]
    task = f"W1 kernel matrix {n_peer}x{n_peer}"
    say(f"{task}: wqml-dash")
    med, K = ours_row(task, "wqml-dash (numba, CPU)", (n_peer, n_peer),
                      lambda: kernel_matrix("w1", Xp, None, sigma), pairs=n_peer * n_peer)

    def qmllib_kernel():
        from qmllib.kernels import wasserstein_kernel

        return wasserstein_kernel(Xp, Xp, sigma)

    def scipy_kernel():
        from scipy.stats import wasserstein_distance

        D = np.array([[wasserstein_distance(a, b) for b in Xp] for a in Xp])
        return np.exp(-D / sigma)

    def pot_kernel():
        import ot

        # POT's 1-d solver takes many distributions as columns: every pair in one call.
        i, j = np.triu_indices(n_peer)
        w = ot.wasserstein_1d(Xp[i].T, Xp[j].T, p=1)
        D = np.zeros((n_peer, n_peer))
        D[i, j] = w
        D[j, i] = w
        return np.exp(-D / sigma)

    peer_row(task, "qmllib.kernels.wasserstein_kernel (Fortran, OpenMP)", (n_peer, n_peer), qmllib_kernel,
             med, K, repeats_=min(repeats, 3))
    peer_row(task, "scipy.stats.wasserstein_distance per pair", (n_peer, n_peer), scipy_kernel, med, K,
             repeats_=min(repeats, 3))
    peer_row(task, "POT ot.wasserstein_1d, all pairs in one call", (n_peer, n_peer), pot_kernel, med, K,
             repeats_=min(repeats, 3))

    # 2. L1 / W1 distance matrices on n molecules (the throughput figure).
    X = X_all[:n]
    Xs = sorted_entries(X)
    task = f"L1 distances {n}x{n} (symmetric)"
    say(f"{task}: wqml-dash")
    med, D = ours_row(task, "wqml-dash (numba, CPU)", (n, n), lambda: l1_distances(X), pairs=n * (n - 1) // 2,
                      note="each pair once")

    def pdist_l1():
        from scipy.spatial.distance import pdist

        return pdist(X, "cityblock")

    def cdist_l1():
        from scipy.spatial.distance import cdist

        return cdist(X, X, "cityblock")

    def torch_cdist():
        import torch

        dev = "cuda" if torch.cuda.is_available() else "cpu"
        t = torch.from_numpy(X).to(dev)
        out = torch.cdist(t, t, p=1)
        if dev == "cuda":
            torch.cuda.synchronize()
        return out.cpu().numpy()

    iu = np.triu_indices(n, 1)
    peer_row(task, "scipy.spatial.distance.pdist cityblock", (n, n), pdist_l1, med, D[iu], pairs=n * (n - 1) // 2,
             note="each pair once: the like-for-like peer")
    twice = "every pair twice: not like for like"
    peer_row(task, "scipy.spatial.distance.cdist cityblock", (n, n), cdist_l1, med, D, pairs=n * n, note=twice,
             like=False)
    peer_row(task, "torch.cdist p=1", (n, n), torch_cdist, med, D, pairs=n * n, note=twice, like=False)
    if cuda_available():
        def ours_cuda():
            import torch

            out = get_backend("cuda").distances("l1", X)
            torch.cuda.synchronize()
            return out.cpu().numpy()

        peer_row(task, "wqml-dash (torch backend, cuda)", (n, n), ours_cuda, med, D, pairs=n * n)

    Y = X_all[n: n + n_peer]
    task = f"W1 distances {n}x{n_peer} (cross, sort included)"
    say(f"{task}: wqml-dash")
    ours_row(task, "wqml-dash (numba, CPU)", (n, n_peer), lambda: distances("w1", X, Y), pairs=n * n_peer)
    task = f"W1 distances {n}x{n} (symmetric, presorted)"
    say(f"{task}: wqml-dash")
    ours_row(task, "wqml-dash (numba, CPU)", (n, n),
             lambda: distances("w1", Xs, presorted=True), pairs=n * (n - 1) // 2, note="each pair once")

    # 3. The KRR fit on n_fit molecules from precomputed W1 distances.
    Xf, yf = X_all[:n_fit], y_all[:n_fit]
    Df = distances("w1", Xf)
    task = f"KRR fit n={n_fit} (W1 kernel, Cholesky)"
    say(f"{task}: wqml-dash")
    med, model = ours_row(task, "wqml-dash (fused kernel, in-place LAPACK)", (n_fit, n_fit),
                          lambda: KernelRidge("w1", sigma, 1e-8, precomputed=True).fit(Df, yf))

    def sklearn_fit():
        from sklearn.kernel_ridge import KernelRidge as SkKRR

        m = SkKRR(alpha=1e-8, kernel="precomputed").fit(kernel_from_distances(Df, "w1", sigma), yf)
        return m.dual_coef_

    peer_row(task, "scikit-learn KernelRidge (precomputed kernel)", (n_fit, n_fit), sklearn_fit,
             med, model.dual_coef_, repeats_=min(repeats, 3))
    return rows


def format_rows(rows: list[BenchRow]) -> str:
    """A plain-text table: one block per task, ratios against ours."""
    lines = []
    task = None
    for r in rows:
        if r.task != task:
            task = r.task
            lines += ["", task, "-" * len(task)]
        if r.median_s is None:
            lines.append(f"  {r.implementation:<52} {r.note}")
            continue
        rate = f"{r.element_pairs_per_s / 1e9:8.2f} G/s" if r.element_pairs_per_s else " " * 12
        if r.ratio == 1.0:
            ratio = ""
        else:
            ratio = f"{r.ratio:>10,.1f}x slower" if r.ratio >= 1 else f"{1 / r.ratio:>10,.1f}x faster"
        diff = "" if r.max_rel_diff is None else f"  diff {r.max_rel_diff:.0e}"
        notes = [n for n in (r.note, "single run, not a median" if len(r.runs_s) == 1 else "") if n]
        lines.append(f"  {r.implementation:<52} {_seconds(r.median_s):>10} {rate} {ratio}{diff}"
                     + (f"  ({'; '.join(notes)})" if notes else ""))
    return "\n".join(lines).lstrip("\n")


def _seconds(s: float) -> str:
    return f"{s * 1e3:.2f} ms" if s < 1 else f"{s:.2f} s"


def to_json(rows: list[BenchRow], settings: dict) -> dict:
    """Machine, settings and rows (each with its ``statistic``), with the wqml-dash version."""
    from . import __version__

    return {"wqml_dash_version": __version__, "machine": machine(), "settings": settings,
            "rows": [asdict(r) | {"statistic": r.statistic} for r in rows]}
