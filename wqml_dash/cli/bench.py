"""``wqml bench``: our L1/W1 distance and kernel matrices and the KRR fit against peers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .common import UsageError


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
    bench.add_argument("--json", type=Path, metavar="PATH", help="write the results as JSON")
    bench.set_defaults(func=run)


def run(args) -> int:
    from ..bench import format_rows, run_bench, to_json

    for name in ("n", "n_peer", "n_fit", "repeats"):
        if getattr(args, name) < (2 if name != "repeats" else 1):
            raise UsageError(f"--{name.replace('_', '-')} must be at least {2 if name != 'repeats' else 1}")
    if max(args.n, args.n_fit) + args.n_peer > 130_000:
        raise UsageError("--n/--n-fit plus --n-peer exceed QM9's 130,831 molecules")
    if args.json is not None and not args.json.parent.exists():
        raise UsageError(f"folder of --json does not exist: {args.json.parent}")
    rows = run_bench(n=args.n, n_peer=args.n_peer, n_fit=args.n_fit, repeats=args.repeats,
                     progress=lambda msg: print(f"bench: {msg}", file=sys.stderr))
    print(format_rows(rows))
    if args.json is not None:
        settings = {k: getattr(args, k) for k in ("n", "n_peer", "n_fit", "repeats")}
        try:
            args.json.write_text(json.dumps(to_json(rows, settings), indent=2))
        except OSError as exc:
            raise UsageError(f"cannot write {args.json}: {exc.strerror}") from None
    return 0
