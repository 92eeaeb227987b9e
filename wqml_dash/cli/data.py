"""``wqml data``: load (and cache) QM9 and print a summary."""

from __future__ import annotations

import sys

from .common import UsageError


def add_parser(sub) -> None:
    data = sub.add_parser("data", help="load (and cache) QM9, print a summary",
                          description="Load the embedded QM9 (building its cache on first use) "
                                      "or an original QM9 release archive, and summarise it.")
    data.add_argument("--release", metavar="PATH_OR_URL",
                      help="an original QM9 xyz tar archive instead of the embedded copy")
    data.add_argument("--exclude-file", metavar="PATH",
                      help="with --release: leave out the QM9 indices listed in this file "
                           "(e.g. the release's uncharacterized.txt)")
    data.add_argument("--rebuild", action="store_true", help="rebuild the embedded cache")
    data.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from ..core.data.qm9 import DataError, cache_path, load_qm9, load_qm9_release, read_index_list

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
    except DataError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:  # a missing or unreadable archive or exclude file
        raise UsageError(f"cannot read {exc.filename or args.release}: {exc.strerror or exc}") from None
    e = dataset.energy
    print(f"source      {source}")
    print(f"molecules   {len(dataset)}")
    print(f"atoms       {dataset.charges.size} (largest molecule {dataset.max_atoms})")
    print(f"E_at        mean {e.mean():.2f}  std {e.std():.2f}  min {e.min():.2f}  max {e.max():.2f} kcal/mol")
    print(f"properties  {', '.join(sorted(dataset.properties))}")
    print(f"elements    {sorted(np.unique(dataset.charges).tolist())}")
    return 0


