"""``wqml bench``: our L1/W1 distance and kernel matrices and the KRR fit against peers."""

from __future__ import annotations

import sys

from .common import UsageError, check_json_destination, human_output, write_json


def add_parser(sub) -> None:
    bench = sub.add_parser(
        "bench", help="time our kernels and KRR fit against qmllib, scipy, POT, torch, scikit-learn",
        description="Measure, side by side in one run on the same real QM9 Coulomb matrices, our L1 and W1 "
                    "distance and kernel matrices and the KRR fit against the peers that are installed "
                    "(qmllib, scipy, POT, torch.cdist, scikit-learn). Prints medians and ratios; --json "
                    "writes everything, with the machine.")
    bench.add_argument("--n", type=int, default=2000,
                       help="molecules for the fast distance tasks (default %(default)s)")
    bench.add_argument("--n-peer", type=int, default=300,
                       help="molecules for the slow per-pair peers (default %(default)s)")
    bench.add_argument("--n-fit", type=int, default=4000,
                       help="training molecules of the KRR fit (default %(default)s)")
    bench.add_argument("--repeats", type=int, default=5, help="timed runs per implementation (default %(default)s)")
    bench.add_argument("--json", metavar="PATH", help="write the results as JSON ('-' for standard output; the "
                                                     "table then goes to standard error)")
    bench.set_defaults(func=run)


def run(args) -> int:
    from ..bench import format_rows, run_bench, to_json

    for name in ("n", "n_peer", "n_fit", "repeats"):
        if getattr(args, name) < (2 if name != "repeats" else 1):
            raise UsageError(f"--{name.replace('_', '-')} must be at least {2 if name != 'repeats' else 1}")
    if max(args.n, args.n_fit) + args.n_peer > 130_000:
        raise UsageError("--n/--n-fit plus --n-peer exceed QM9's 130,831 molecules")
    check_json_destination(args.json)
    rows = run_bench(n=args.n, n_peer=args.n_peer, n_fit=args.n_fit, repeats=args.repeats,
                     progress=lambda msg: print(f"bench: {msg}", file=sys.stderr))
    print(format_rows(rows), file=human_output(args.json))
    if args.json is not None:
        write_json(args.json, to_json(rows, {k: getattr(args, k) for k in ("n", "n_peer", "n_fit", "repeats")}))
    return 0
