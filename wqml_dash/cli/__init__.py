"""The ``wqml`` command line, on the same core and runs layers as the app.

Each subcommand lives in its own module with ``add_parser(sub)`` and ``run(args)``.
Errors a user can cause end with a one-line message on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import bench, data, learning_curve, predict, runs, scan, serve, train
from .common import EXIT_INTERRUPTED, EXIT_USAGE, Parser, UsageError

#: Subcommand modules, in the order ``wqml --help`` lists them.
SUBCOMMANDS = (learning_curve, runs, scan, train, predict, data, bench, serve)

__all__ = ["EXIT_INTERRUPTED", "EXIT_USAGE", "UsageError", "build_parser", "main"]


def build_parser() -> Parser:
    parser = Parser(prog="wqml", description="Quantum machine learning with the Wasserstein metric.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in SUBCOMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"wqml: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
