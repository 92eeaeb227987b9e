"""Cholesky solves of ``(K + lambda I) a = y``: LAPACK at once up to 2 GB, in column panels beyond.

The CPU backend (`backends.numpy_backend`) calls `cholesky_solve_in_place` on the kernel block it
wrote into a Fortran-ordered workspace; `solve_krr` is the plain form for a kernel matrix in hand.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from scipy.linalg import lapack

from .errors import SolveError, not_positive_definite


def solve_krr(kernel: np.ndarray, y: np.ndarray, lam: float, overwrite: bool = False) -> np.ndarray:
    """Regression weights ``alpha`` of ``(K + lam I) alpha = y`` by Cholesky.

    Parameters
    ----------
    kernel : (n, n) symmetric kernel matrix
    y : (n,) targets
    lam : regularisation lambda >= 0
    overwrite : allow ``kernel`` to be destroyed (saves a copy)

    Returns
    -------
    (n,) float64
    """
    a = kernel if overwrite else kernel.copy()
    a.flat[:: a.shape[0] + 1] += lam
    try:
        factor = scipy.linalg.cho_factor(a, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError as exc:
        raise not_positive_definite(lam) from exc
    return scipy.linalg.cho_solve(factor, np.asarray(y, dtype=np.float64), check_finite=False)


def cholesky_solve_in_place(a: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Solve ``A x = y`` for the lower triangle of a Fortran-ordered ``a``, destroying ``a``.

    Systems up to `LAPACK_LIMIT_BYTES` go to LAPACK's ``dpotrf``/``dpotrs`` at once; larger ones
    are factorised in column panels (`blocked_cholesky_in_place`), so that no single LAPACK call
    sees more than an (n, `PANEL`) block.

    Parameters
    ----------
    a : (n, n) Fortran-contiguous float64; its lower triangle holds ``K + lam I``
    y : (n,) or (n, k) right-hand sides
    lam : only for the error message

    Returns
    -------
    (n,) or (n, k) float64

    Raises
    ------
    SolveError
        if the matrix is not numerically positive definite
    """
    y = np.asarray(y, dtype=np.float64)
    if a.shape[0] ** 2 * 8 >= LAPACK_LIMIT_BYTES:
        if blocked_cholesky_in_place(a) != 0:
            raise not_positive_definite(lam)
        return blocked_cholesky_solve(a, y)
    c, info = lapack.dpotrf(a, lower=1, clean=0, overwrite_a=1)
    if info != 0:
        raise not_positive_definite(lam)
    x, info = lapack.dpotrs(c, y, lower=1)
    if info != 0:  # pragma: no cover - only for malformed arguments
        raise SolveError(f"LAPACK dpotrs failed with info={info}")
    return x


#: Largest matrix (bytes) handed to LAPACK in one call. OpenBLAS's dpotrf (SciPy's 32-bit-integer
#: build and NumPy's 64-bit one alike) crashed with SIGSEGV on a 32,000 x 32,000 system (8.2 GB)
#: while 16,000 (2.05 GB) works: larger systems are factorised in panels instead.
LAPACK_LIMIT_BYTES = 2**31
#: Width of the column panels of `blocked_cholesky_in_place`.
PANEL = 2048


def blocked_cholesky_in_place(a: np.ndarray, panel: int | None = None) -> int:
    """Lower Cholesky factor of a Fortran-ordered ``a`` in place, one column panel at a time.

    The right-looking blocked algorithm: factor the diagonal block (LAPACK ``dpotrf``), solve
    for the panel below it (``dtrsm``), subtract the panel's outer product from the trailing
    lower triangle, one panel-wide column block at a time (``dgemm``). Every call sees at most
    an (n, ``panel``) block, and the extra memory is two such blocks.

    Parameters
    ----------
    a : (n, n) Fortran-contiguous float64; the lower triangle is read and replaced by the
        factor L (A = L L^T); the strict upper triangle is left in an unspecified state
    panel : block width (default `PANEL`)

    Returns
    -------
    0 on success, else the (1-based) order of the first leading minor that is not positive
    definite, as LAPACK's ``info``.
    """
    n, panel = a.shape[0], panel or PANEL
    for j0 in range(0, n, panel):
        j1 = min(j0 + panel, n)
        diag, info = lapack.dpotrf(np.asfortranarray(a[j0:j1, j0:j1]), lower=1, clean=1, overwrite_a=1)
        if info != 0:
            return j0 + info
        a[j0:j1, j0:j1] = diag
        if j1 == n:
            break
        below = scipy.linalg.solve_triangular(diag, a[j1:, j0:j1].T, lower=True, check_finite=False).T
        a[j1:, j0:j1] = below
        for k0 in range(j1, n, panel):
            k1 = min(k0 + panel, n)
            a[k0:, k0:k1] -= below[k0 - j1:] @ below[k0 - j1:k1 - j1].T
    return 0


def blocked_cholesky_solve(factor: np.ndarray, y: np.ndarray, panel: int | None = None) -> np.ndarray:
    """Solve ``L L^T x = y`` with the lower factor of `blocked_cholesky_in_place`, panel by panel.

    Parameters
    ----------
    factor : (n, n) L in the lower triangle
    y : (n,) or (n, k)
    panel : block width (default `PANEL`)

    Returns
    -------
    x : like ``y``, float64
    """
    n, panel = factor.shape[0], panel or PANEL
    x = np.array(y, dtype=np.float64)
    starts = range(0, n, panel)
    for j0 in starts:  # forward: L z = y
        j1 = min(j0 + panel, n)
        x[j0:j1] = scipy.linalg.solve_triangular(factor[j0:j1, j0:j1], x[j0:j1], lower=True, check_finite=False)
        x[j1:] -= factor[j1:, j0:j1] @ x[j0:j1]
    for j0 in reversed(starts):  # backward: L^T x = z
        j1 = min(j0 + panel, n)
        x[j0:j1] -= factor[j1:, j0:j1].T @ x[j1:]
        x[j0:j1] = scipy.linalg.solve_triangular(factor[j0:j1, j0:j1], x[j0:j1], lower=True, trans="T",
                                                 check_finite=False)
    return x
