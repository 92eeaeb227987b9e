"""scikit-learn's estimator checks on KernelRidge and KernelRidgeCV, written as a table.

    python benchmarks/estimator_checks.py [--out benchmarks/results/estimator_checks.md]

Runs ``sklearn.utils.estimator_checks.check_estimator`` (``on_fail=None``: every check is run and
its outcome recorded) on KernelRidge with each metric and in precomputed mode, and on
KernelRidgeCV, with ``SCIPY_ARRAY_API=1`` set before SciPy is imported so that the array-API
check runs too. The test suite runs the same checks (``tests/core/test_sklearn_estimator.py``),
where that one check is skipped: a pytest session has imported SciPy before it can be set.
"""

from __future__ import annotations

import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")  # before anything imports SciPy

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numba  # noqa: E402
import sklearn  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from wqml_dash import __version__  # noqa: E402
from wqml_dash.core.learn.krr import KernelRidge  # noqa: E402
from wqml_dash.core.learn.krr_cv import KernelRidgeCV  # noqa: E402

ESTIMATORS = {
    "KernelRidge(metric='l1')": KernelRidge("l1"),
    "KernelRidge(metric='l2')": KernelRidge("l2"),
    "KernelRidge(metric='w1')": KernelRidge("w1"),
    "KernelRidge(metric='w1', center=True)": KernelRidge("w1", center=True),
    "KernelRidgeCV(metric='w1', folds=3)": KernelRidgeCV("w1", folds=3),
    "KernelRidgeCV(metric='l2', folds=3, small grid)": KernelRidgeCV("l2", (1.0, 4.0, 16.0), (1e-8, 1e-4), 3),
}

NOT_APPLICABLE = """\
Not run at all, because they do not apply:

- `KernelRidge(precomputed=True)` and `KernelRidgeCV(precomputed=True)`: in this mode `fit` takes the
  (n, n) distances of the metric, not features. The checks feed feature matrices (for a `pairwise`
  estimator, a linear kernel of them, which is not a distance matrix), and precomputed distances are
  deliberately passed on unchecked (NumPy arrays or PyTorch tensors, possibly 8 GB, possibly overwritten
  in place). Covered instead by tests/core/test_krr.py (equal to the representation mode and to
  scikit-learn's own `kernel="precomputed"`).
- `CoulombMatrix` and `BagOfBonds`: their input is a list of molecules ((charges, coordinates) pairs,
  `Molecule`, `ase.Atoms`) or a `MolecularDataset`, not a numeric matrix; the checks only feed numeric
  matrices. Covered by tests/core/test_sklearn_estimator.py (equal to the package's representations, in
  `Pipeline`, `cross_val_score` and `GridSearchCV`).
"""


def run(estimator) -> list[dict]:
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        return check_estimator(estimator, on_fail=None, on_skip=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/estimator_checks.md")
    args = parser.parse_args()
    numba.set_num_threads(1)  # hundreds of tiny fits: thread pools only add overhead
    lines = ["# scikit-learn estimator checks", "",
             f"`python benchmarks/estimator_checks.py` with scikit-learn {sklearn.__version__}, wqml-dash "
             f"{__version__}, SCIPY_ARRAY_API={os.environ['SCIPY_ARRAY_API']}.", ""]
    for label, estimator in ESTIMATORS.items():
        t = time.perf_counter()
        results = run(estimator)
        passed = sorted({r["check_name"] for r in results if r["status"] == "passed"})
        other = [(r["check_name"], r["status"], r["exception"]) for r in results if r["status"] != "passed"]
        lines += [f"## {label}", "",
                  f"{len(results)} checks run ({time.perf_counter() - t:.0f} s): {len(passed)} distinct checks "
                  f"passed, {len(other)} not.", "", "Passed: " + ", ".join(f"`{name}`" for name in passed) + ".", ""]
        for name, status, exc in other:
            lines.append(f"- **{status}** `{name}`: {str(exc).splitlines()[0] if exc else ''}")
        lines.append("")
        print(f"{label}: {len(results) - len(other)}/{len(results)} passed", flush=True)
    lines += ["## Checks that do not apply", "", NOT_APPLICABLE]
    Path(args.out).write_text("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
