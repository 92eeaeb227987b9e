"""``wqml train``: fit one model on a random QM9 training set and save it for ``wqml predict``.

The model is ``Pipeline(CoulombMatrix or BagOfBonds, KernelRidgeCV)``: sigma and lambda chosen by
k-fold cross-validation on the training set alone (the learning curves' protocol), then refit on
all of it; the test MAE is measured on held-out molecules. The file (`core.learn.model_io`) holds
arrays and JSON, no pickle.
"""

from __future__ import annotations

import sys

from .common import UsageError, check_json_destination, human_output, write_json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="fit a KRR model on QM9 (sigma, lambda by CV) and save it for `wqml predict`",
        description="Fit Pipeline(CoulombMatrix, KernelRidgeCV) on N random QM9 molecules (sigma and lambda by "
                    "k-fold cross-validation on them), report its MAE on held-out molecules and save it.")
    p.add_argument("--model", metavar="PATH", required=True, help="where to save the model (.npz)")
    p.add_argument("--n", type=int, metavar="N", default=1000, help="training molecules (default 1000)")
    p.add_argument("--series", metavar="ORDER:METRIC", default="sorted:w1",
                   help="atom order and metric, e.g. sorted:l1, random:l2, sorted:w1 (default sorted:w1)")
    p.add_argument("--representation", choices=["cm", "bob"], default="cm",
                   help="Coulomb matrix (default) or Bag of Bonds (its bags ignore the order)")
    p.add_argument("--target", metavar="KEY", default="atomization_energy",
                   help="QM9 property to learn (default atomization_energy, kcal/mol)")
    p.add_argument("--test", type=int, metavar="N", default=1000, help="held-out molecules for the MAE (default 1000)")
    p.add_argument("--folds", type=int, metavar="K", default=5, help="cross-validation folds (default 5)")
    p.add_argument("--search", choices=["grid", "local"], default=None,
                   help="how the CV searches sigma and lambda (default: the CV's own)")
    p.add_argument("--seed", type=int, metavar="N", default=0, help="seeds the split, the folds and the random order")
    p.add_argument("--json", metavar="PATH", help="write the summary as JSON ('-' for standard output)")
    p.set_defaults(func=run)


def build_model(series, dataset, folds: int, seed: int, search: str | None):
    """The pipeline ``wqml train`` fits: the representation, sized for every molecule of ``dataset``
    (its largest molecule; its bags), then KernelRidgeCV."""
    from sklearn.pipeline import make_pipeline

    from ..core.features.bag_of_bonds import dataset_layout
    from ..core.features.transformers import BagOfBonds, CoulombMatrix
    from ..core.learn.krr_cv import KernelRidgeCV

    if series.representation == "bob":
        step = BagOfBonds(dataset_layout(dataset))
    else:
        step = CoulombMatrix(series.order, size=dataset.max_atoms, seed=seed)
    return make_pipeline(step, KernelRidgeCV(series.metric, folds=folds, seed=seed, search=search))


def run(args) -> int:
    import numpy as np

    from ..core.data import PROPERTIES, DataError, load_qm9
    from ..core.features.transformers import dataset_molecules
    from ..core.learn.model_io import save_model
    from ..core.learn.series import Series

    try:
        series = Series.parse(args.series, args.representation)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.target not in PROPERTIES:
        raise UsageError(f"--target {args.target!r} is not a QM9 property; choose one of {sorted(PROPERTIES)}")
    if args.n < max(args.folds, 2) or args.folds < 2 or args.test < 1:
        raise UsageError("need --folds >= 2, --n >= --folds and --test >= 1")
    check_json_destination(args.json)
    try:
        qm9 = load_qm9(progress=lambda d, t, m: print(f"QM9: {m}", file=sys.stderr))
    except (DataError, OSError) as exc:
        raise UsageError(str(exc)) from None
    if args.n + args.test > len(qm9):
        raise UsageError(f"--n plus --test must be at most {len(qm9):,}, QM9's molecules")
    rows = np.random.default_rng(args.seed).permutation(len(qm9))[: args.n + args.test]
    train, test = rows[: args.n], rows[args.n:]
    y = qm9.target(args.target)
    model = build_model(series, qm9, args.folds, args.seed, args.search)
    model.fit(dataset_molecules(qm9, train), y[train])
    mae = float(np.abs(model.predict(dataset_molecules(qm9, test)) - y[test]).mean())
    cv = model[-1]
    unit = qm9.unit(args.target)
    path = save_model(model, args.model, target=args.target, unit=unit, dataset=qm9.identity(args.target),
                      note=f"wqml train: {series.key} ({series.representation}), QM9 rows drawn with seed "
                           f"{args.seed}; test MAE {mae:.4g} {unit} on {args.test} held-out molecules")
    out = human_output(args.json)
    print(f"{series.label}: {args.n} QM9 molecules, sigma = {cv.sigma_:.4g} ({cv.sigma_factor_:.3g} x median "
          f"distance), lambda = {cv.lam_:g}; CV MAE {cv.cv_mae_:.3f}, test MAE {mae:.3f} {unit} "
          f"({args.test} held out)", file=out)
    print(f"saved {path}", file=out)
    write_json(args.json, {"model": str(path), "series": series.key, "representation": series.representation,
                           "n_train": args.n, "n_test": args.test, "target": args.target, "unit": unit,
                           "sigma": cv.sigma_, "sigma_factor": cv.sigma_factor_, "lam": cv.lam_,
                           "cv_mae": cv.cv_mae_, "test_mae": mae, "seed": args.seed})
    return 0
