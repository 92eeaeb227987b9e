"""The ``wqml`` command line, on the same core as the app.

Errors a user can cause end with a one-line message on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Optional, Sequence

from .core.data import PROPERTIES
from .core.learning_curve import (PAPER_SERIES, LearningCurveSettings, parse_series,
                                  run_learning_curve, series_product)
from .core.metrics import METRICS
from .core.representations import ORDERS

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A problem with the user's input: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: same format, same exit code
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _float_list(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wqml", description="Quantum machine learning with the Wasserstein metric.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    defaults = LearningCurveSettings()
    lc = sub.add_parser(
        "learning-curve", help="QM9 learning curves with the paper's protocol",
        description="Train KRR models on growing QM9 training sets and report the test MAE. "
                    "Without --series, --order or --metric: the paper's five series "
                    f"({', '.join(PAPER_SERIES)}).")
    lc.add_argument("--series", action="append", metavar="ORDER:METRIC",
                    help="a series such as sorted:l1 (repeatable)")
    lc.add_argument("--order", action="append", choices=ORDERS,
                    help="atom order (repeatable); combined with every --metric")
    lc.add_argument("--metric", action="append", choices=METRICS,
                    help="metric (repeatable); combined with every --order")
    lc.add_argument("--sizes", type=_int_list, default=defaults.sizes,
                    help="training sizes, comma-separated (default %(default)s)")
    lc.add_argument("--test", type=int, default=defaults.n_test, help="test-set size (default %(default)s)")
    lc.add_argument("--folds", type=int, default=defaults.folds, help="cross-validation folds (default %(default)s)")
    lc.add_argument("--seed", type=int, default=defaults.seed, help="seed (default %(default)s)")
    lc.add_argument("--target", default=defaults.target, choices=sorted(PROPERTIES), metavar="PROPERTY",
                    help="QM9 property to learn (default %(default)s)")
    lc.add_argument("--sigma-factors", type=_float_list, help="sigma grid as multiples of the median distance")
    lc.add_argument("--lambdas", type=_float_list, help="lambda grid, comma-separated")
    lc.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    lc.add_argument("--quiet", action="store_true", help="no progress bar")
    lc.set_defaults(func=cmd_learning_curve)

    data = sub.add_parser("data", help="load (and cache) QM9, print a summary",
                          description="Load the embedded QM9 (building its cache on first use) "
                                      "or an original QM9 release archive, and summarise it.")
    data.add_argument("--release", metavar="PATH_OR_URL",
                      help="an original QM9 xyz tar archive instead of the embedded copy")
    data.add_argument("--exclude-file", metavar="PATH",
                      help="with --release: leave out the QM9 indices listed in this file "
                           "(e.g. the release's uncharacterized.txt)")
    data.add_argument("--rebuild", action="store_true", help="rebuild the embedded cache")
    data.set_defaults(func=cmd_data)
    return parser


def _series_from_args(args) -> list[str]:
    if args.series and (args.order or args.metric):
        raise UsageError("give either --series or --order/--metric, not both")
    if args.series:
        return [":".join(parse_series(spec)) for spec in args.series]
    if not args.order and not args.metric:
        return list(PAPER_SERIES)
    orders = args.order or ["random", "sorted"]
    metrics = args.metric or list(METRICS)
    return series_product(dict.fromkeys(orders), dict.fromkeys(metrics))


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
    """A plain-text table of learning-curve points."""
    head = f"{'order':<9}{'metric':<7}{'n_train':>8}{'MAE':>10}{'RMSE':>10}{'sigma':>12}{'lambda':>9}{'seconds':>9}"
    lines = [head, "-" * len(head)]
    for p in points:
        lines.append(f"{p.order:<9}{p.metric:<7}{p.n_train:>8}{p.mae:>10.3f}{p.rmse:>10.3f}"
                     f"{p.sigma:>12.4g}{p.lam:>9.0e}{p.seconds:>9.2f}")
    return "\n".join(lines)


def cmd_learning_curve(args) -> int:
    from .core.data import load_qm9

    try:
        settings = LearningCurveSettings(
            series=_series_from_args(args), sizes=args.sizes, n_test=args.test, folds=args.folds,
            seed=args.seed, target=args.target,
            **({"sigma_factors": args.sigma_factors} if args.sigma_factors else {}),
            **({"lambdas": args.lambdas} if args.lambdas else {}))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if args.json is not None and not args.json.parent.exists():
        raise UsageError(f"folder of --json does not exist: {args.json.parent}")

    bar = _ProgressBar(enabled=not args.quiet)
    dataset = load_qm9(progress=None if args.quiet else
                       (lambda d, t, m: print(f"QM9: {m}", file=sys.stderr)))
    try:
        settings.check_fits(len(dataset))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    points = []
    try:
        result = run_learning_curve(dataset, settings, progress=bar, on_point=points.append)
    except KeyboardInterrupt:
        bar.close()
        print(format_table(points), file=sys.stderr)
        print("wqml: interrupted; the points above had finished", file=sys.stderr)
        return EXIT_INTERRUPTED
    bar.close()
    print(format_table(result.points))
    print(f"total {result.wall_seconds:.1f} s")
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(result.to_json(), indent=2))
        except OSError as exc:
            raise UsageError(f"cannot write {args.json}: {exc.strerror}") from None
    return 0


def cmd_data(args) -> int:
    import numpy as np

    from .core.data.qm9 import DataError, cache_path, load_qm9, load_qm9_release, read_index_list

    if args.exclude_file and not args.release:
        raise UsageError("--exclude-file applies to --release only")
    try:
        if args.release:
            exclude = read_index_list(args.exclude_file) if args.exclude_file else ()
            dataset = load_qm9_release(args.release, exclude=exclude)
            source = args.release
        else:
            dataset = load_qm9(rebuild=args.rebuild,
                               progress=lambda d, t, m: print(f"QM9: {m}", file=sys.stderr))
            source = f"qm9pack (cache {cache_path()})"
    except (DataError, OSError) as exc:
        raise UsageError(str(exc)) from None
    e = dataset.energy
    print(f"source      {source}")
    print(f"molecules   {len(dataset)}")
    print(f"atoms       {dataset.charges.size} (largest molecule {dataset.max_atoms})")
    print(f"E_at        mean {e.mean():.2f}  std {e.std():.2f}  min {e.min():.2f}  max {e.max():.2f} kcal/mol")
    print(f"properties  {', '.join(sorted(dataset.properties))}")
    print(f"elements    {sorted(np.unique(dataset.charges).tolist())}")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"wqml: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
