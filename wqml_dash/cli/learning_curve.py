"""``wqml learning-curve``: learning curves with the paper's protocol, on QM9 or your data set (``--data``)."""

from __future__ import annotations

import sys
import time

from .. import __version__
from ..core.data import PROPERTIES
from ..core.features.coulomb_matrix import ORDERS
from ..core.learn.backends import resolve_device
from ..core.learn.learning_curve import run_learning_curve
from ..core.learn.metrics import METRICS
from ..core.learn.series import REPRESENTATIONS, distinct_series, parse_series, series_product
from ..core.learn.settings import PAPER_SERIES, LearningCurveSettings
from .common import (EXIT_INTERRUPTED, UsageError, check_json_destination, float_list, human_output, int_list,
                     seed_list, write_json)
from .data import add_data_arguments, load_user_data
from .runs import add_scheduler_argument, add_store_argument


def add_parser(sub) -> None:
    defaults = LearningCurveSettings()
    lc = sub.add_parser(
        "learning-curve", help="learning curves with the paper's protocol (QM9 or --data FILE)",
        description="Train KRR models on growing training sets of QM9 (or of --data) and report the test MAE. "
                    "Without --series, --order or --metric: the paper's five series "
                    f"({', '.join(PAPER_SERIES)}).")
    lc.add_argument("--series", action="append", metavar="ORDER:METRIC",
                    help="a series such as sorted:l1 (repeatable)")
    lc.add_argument("--order", action="append", choices=ORDERS,
                    help="atom order (repeatable); combined with every --metric")
    lc.add_argument("--metric", action="append", choices=METRICS,
                    help="metric (repeatable); combined with every --order")
    lc.add_argument("--sizes", type=int_list, default=defaults.sizes,
                    help="training sizes, comma-separated (default %(default)s)")
    lc.add_argument("--test", type=int, default=defaults.n_test, help="test-set size (default %(default)s)")
    lc.add_argument("--folds", type=int, default=defaults.folds, help="cross-validation folds (default %(default)s)")
    lc.add_argument("--seed", type=int, help=f"seed (default {defaults.seed})")
    lc.add_argument("--seeds", type=seed_list, metavar="SEEDS",
                    help="several seeds, comma-separated, for mean and spread (recorded in the run store: --store, "
                         "else $WQML_STORE, else the user data folder's)")
    lc.add_argument("--target", metavar="KEY",
                    help=f"property to learn: a QM9 property ({', '.join(sorted(PROPERTIES))}; default "
                         f"{defaults.target}) or, with --data, a number every frame has (default: energy)")
    lc.add_argument("--sigma-factors", type=float_list, help="sigma grid as multiples of the median distance")
    lc.add_argument("--lambdas", type=float_list, help="lambda grid, comma-separated")
    lc.add_argument("--representation", choices=list(REPRESENTATIONS), default=defaults.representation,
                    help="cm: Coulomb matrix; bob: Bag of Bonds, where the order of a series does not matter "
                         "(default %(default)s)")
    lc.add_argument("--search", choices=["local", "grid"], default=defaults.search,
                    help="hyperparameter search per size, each size on its own training set: the whole grid, or "
                         "(default) a coarse probe of the grid and a walk to the CV error's minimum from its best "
                         "points (the full grid's optimum at 24 of 25 points checked, with fewer evaluations)")
    lc.add_argument("--device", choices=["auto", "cpu", "cuda"], default=defaults.device,
                    help="cpu (numba + LAPACK), cuda (PyTorch on a GPU) or auto: the GPU where there is one "
                         "(default %(default)s)")
    add_data_arguments(lc)
    lc.add_argument("--json", metavar="PATH", help="write the results as JSON ('-' for standard output; the table "
                                                  "then goes to standard error)")
    add_store_argument(lc)
    add_scheduler_argument(lc)
    lc.add_argument("--name", help="a label for the run (records it in the run store, as --seeds does)")
    lc.add_argument("--quiet", action="store_true", help="no progress bar")
    lc.set_defaults(func=run)


def _series_from_args(args) -> list[str]:
    """The series to compute: one of each group that gives identical results (noted on stderr)."""
    if args.series and (args.order or args.metric):
        raise UsageError("give either --series or --order/--metric, not both")
    if args.series:
        asked = [":".join(parse_series(spec)) for spec in args.series]
    elif not args.order and not args.metric:
        asked = list(PAPER_SERIES)
    else:
        orders = args.order or ["random", "sorted"]
        metrics = args.metric or list(METRICS)
        asked = series_product(dict.fromkeys(orders), dict.fromkeys(metrics))
    kept, merged = distinct_series(asked, args.representation)
    why = "Bag of Bonds does not depend on the atom order" if args.representation == "bob" else \
        "W1 compares sorted entries: the atom order does not change it"
    for dropped, into in merged:
        print(f"wqml: {dropped} gives the same results as {into} ({why}): computed once, as {into}",
              file=sys.stderr)
    return kept


class _ProgressBar:
    """A tqdm bar on stderr that follows ``progress(done, total, message)``."""

    def __init__(self, enabled: bool):
        self.bar = None
        self.enabled = enabled

    def __call__(self, done: int, total: int, message: str) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, file=sys.stderr, unit="point", dynamic_ncols=True,
                            mininterval=0.5)
        self.bar.set_description_str(message[:60], refresh=False)
        self.bar.update(done - self.bar.n)  # redraws at most every mininterval

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def format_table(points) -> str:
    """A plain-text table of learning-curve points: sigma also as a multiple of the median training
    distance ('sigma/med'), and '*' beside a sigma or lambda at the edge of the searched range, with
    a footnote (`CurvePoint.at_edge`)."""
    from .search_flags import edge_marks, edge_note, format_factor

    head = (f"{'order':<9}{'metric':<7}{'n_train':>8}{'MAE':>10}{'RMSE':>10}{'sigma':>12}{'sigma/med':>11} "
            f"{'lambda':>9} {'seconds':>8}")
    lines, flags = [head, "-" * len(head)], []
    for p in points:
        at_edge = getattr(p, "at_edge", "") or ""
        flags.append(at_edge)
        s_mark, l_mark = edge_marks(at_edge)
        factor = format_factor(getattr(p, "sigma_factor", None))
        lines.append(f"{p.order:<9}{p.metric:<7}{p.n_train:>8}{p.mae:>10.3f}{p.rmse:>10.3f}"
                     f"{p.sigma:>12.4g}{factor:>11}{s_mark}{p.lam:>9.0e}{l_mark}{p.seconds:>8.2f}")
    return "\n".join(lines + edge_note(flags))


def _data_and_target(args):
    """(the data set or None for QM9, the target the run learns, the data set's reference for a run)."""
    from ..core.data import DEFAULT_TARGET, default_target

    if args.data is None:
        load_user_data(args, None)  # refuses data options without --data
        target = args.target or DEFAULT_TARGET
        if target not in PROPERTIES:
            raise UsageError(f"--target {target!r} is not a QM9 property; choose one of "
                             f"{', '.join(sorted(PROPERTIES))}")
        return None, target, None
    from ..runs.config import data_reference

    energy_key = args.target or ("energy" if args.atom_energies else None)
    dataset = load_user_data(args, energy_key)
    target = "atomization_energy" if args.atom_energies else (args.target or default_target(dataset))
    if target is None or target not in dataset.properties:
        numbers = ", ".join(sorted(dataset.properties)) or "none"
        raise UsageError(f"{dataset.name}: name the property to learn with --target; "
                         f"numbers every frame has: {numbers}")
    ref = data_reference(dataset, args.data, target, csv=args.csv)
    if args.atom_energies:
        ref.update(energy_key=energy_key, references=args.atom_energies)
    return dataset, target, ref


def describe_data(dataset, target: str) -> str:
    """One line over the table: what was learned, in what unit, from which data."""
    unit = dataset.unit(target) or "unit not given"
    return (f"{target} ({unit}) of {dataset.name}: {len(dataset):,} molecules, up to {dataset.max_atoms} atoms, "
            f"content {dataset.content_hash[:12]}")


def run(args) -> int:
    from ..core.data import load_qm9

    # --seeds and --name record the run: in --store, else the default store ($WQML_STORE, ...)
    through_store = args.store is not None or args.scheduler is not None or bool(args.seeds or args.name)
    if args.seeds and args.seed is not None:
        raise UsageError("give either --seed or --seeds, not both")
    seed = LearningCurveSettings.seed if args.seed is None else args.seed
    try:
        series = _series_from_args(args)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.scheduler is None:  # on a cluster, 'auto' and 'cuda' are resolved on the workers
        try:
            resolve_device(args.device)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    dataset, target, data_ref = _data_and_target(args)
    values = dict(series=series, sizes=args.sizes, n_test=args.test, folds=args.folds,
                  target=target, representation=args.representation, search=args.search,
                  device=args.device,
                  **({"sigma_factors": args.sigma_factors} if args.sigma_factors else {}),
                  **({"lambdas": args.lambdas} if args.lambdas else {}))
    check_json_destination(args.json)
    if through_store:
        return _run_through_store(args, values, [seed] if not args.seeds else args.seeds, dataset, data_ref)
    try:
        settings = LearningCurveSettings(seed=seed, **values)
    except ValueError as exc:
        raise UsageError(str(exc)) from None

    bar = _ProgressBar(enabled=not args.quiet)
    if dataset is None:
        dataset = load_qm9(progress=None if args.quiet else
                           (lambda d, t, m: print(f"QM9: {m}", file=sys.stderr)))
    try:
        settings.check_fits(len(dataset))
    except ValueError as exc:
        raise UsageError(f"{dataset.name}: {exc}") from None
    points = []
    try:
        result = run_learning_curve(dataset, settings, progress=bar, on_point=points.append)
    except KeyboardInterrupt:
        bar.close()
        print(format_table(points), file=sys.stderr)
        print("wqml: interrupted; the points above had finished", file=sys.stderr)
        return EXIT_INTERRUPTED
    bar.close()
    out = human_output(args.json)
    print(describe_data(dataset, target), file=out)
    print(format_table(result.points), file=out)
    print(f"total {result.wall_seconds:.1f} s", file=out)
    write_json(args.json, {"wqml_dash_version": __version__, **result.to_json()})
    return 0


def _run_through_store(args, values: dict, seeds: list[int], dataset, data_ref: dict | None) -> int:
    """Record the run in the store and compute it on Dask (a local cluster or ``--scheduler``)."""
    from ..runs.config import RunConfig
    from .runs import follow, format_points, format_summary, make_executor, open_store, run_json

    try:
        config = RunConfig(seeds=seeds, data=data_ref, **values, **({"name": args.name} if args.name else {}))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        config.check_fits(config.n_molecules)
    except ValueError as exc:
        raise UsageError(f"{config.data_name}: {exc}") from None
    store = open_store(args.store, must_exist=False)
    start = time.perf_counter()
    executor = make_executor(store, args.scheduler)
    try:
        run_id = executor.submit(config)
        if not args.quiet:
            where = executor.scheduler or "a local Dask cluster"
            print(f"run {run_id} in {store.path} on {where}", file=sys.stderr)
        code = follow(executor, run_id, args.quiet)
    finally:
        executor.close()
    if code != 0:
        return code
    points = store.points(run_id)
    out = human_output(args.json)
    print(describe_data(dataset, values["target"]) if dataset is not None else
          f"{config.target} ({config.unit or 'unit not given'}) of {config.data_name}", file=out)
    print(format_points(points), file=out)
    if len(seeds) > 1:
        print(format_summary(points), file=out)
    print(f"run {run_id}, total {time.perf_counter() - start:.1f} s", file=out)
    write_json(args.json, run_json(store, run_id))
    return 0
