"""``wqml data``: load (and cache) QM9, or read a data set file, and print a summary.

Also the data-set arguments other subcommands share (``--data``, ``--unit``, ``--csv``,
``--atom-energies``) and their loading, with every refusal as a one-line usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import UsageError


def add_parser(sub) -> None:
    data = sub.add_parser("data", help="load (and cache) QM9, or read a data set file; print a summary",
                          description="Load the embedded QM9 (building its cache on first use), an original "
                                      "QM9 release archive, or your own data set (--data: any file ASE reads), "
                                      "and summarise it.")
    data.add_argument("--release", metavar="PATH_OR_URL",
                      help="an original QM9 xyz tar archive instead of the embedded copy")
    data.add_argument("--exclude-file", metavar="PATH",
                      help="with --release: leave out the QM9 indices listed in this file "
                           "(e.g. the release's uncharacterized.txt)")
    data.add_argument("--rebuild", action="store_true", help="rebuild the embedded cache")
    add_data_arguments(data)
    data.add_argument("--target", metavar="KEY", help="with --data: the property to summarise (checked in every frame)")
    data.set_defaults(func=run)


def atom_energies(text: str) -> dict[str, float]:
    """``'H=-0.5,C=-37.8'`` -> ``{'H': -0.5, 'C': -37.8}``."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        symbol, _, value = part.partition("=")
        try:
            out[symbol.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected SYMBOL=ENERGY pairs such as H=-0.5,C=-37.8, "
                                             f"got {part!r}") from None
    if not out:
        raise argparse.ArgumentTypeError("expected SYMBOL=ENERGY pairs such as H=-0.5,C=-37.8")
    return out


def add_data_arguments(parser) -> None:
    """``--data``, ``--unit``, ``--csv`` and ``--atom-energies`` (your own data set)."""
    parser.add_argument("--data", type=Path, metavar="PATH",
                        help="your data set instead of QM9: any file ASE reads (extended XYZ with key=value "
                             "properties per frame, multi-frame XYZ, an ASE .db, .traj, SDF, program outputs)")
    parser.add_argument("--unit", metavar="UNIT",
                        help="with --data: the unit of the target's numbers (eV, Ha, kcal/mol, ...; default eV "
                             "for a calculator's energy, as ASE stores it, else not given)")
    parser.add_argument("--csv", type=Path, metavar="PATH",
                        help="with --data: a CSV of properties, one row per frame (default: the data file's name "
                             "with .csv, when it exists); a header 'E [kcal/mol]' gives the unit")
    parser.add_argument("--atom-energies", type=atom_energies, metavar="SYMBOL=E,...",
                        help="with --data: free-atom energies in the target's unit; the run then learns "
                             "atomization_energy = target - sum of the atoms' energies")


def load_user_data(args, target: str | None):
    """The data set of ``--data`` (checked for ``target``); UsageError with the loader's one line."""
    from ..core.data import DataError, load_dataset

    if args.data is None:
        for flag in ("unit", "csv", "atom_energies"):
            if getattr(args, flag, None) is not None:
                raise UsageError(f"--{flag.replace('_', '-')} applies to --data only")
        return None
    try:
        return load_dataset(args.data, target=target, unit=args.unit, csv=args.csv, references=args.atom_energies)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot read {exc.filename or args.data}: {exc.strerror or exc}") from None


def _summarise_file(args) -> int:
    import numpy as np

    from ..core.data.ase_datasets import default_target
    from ..core.data.dataset import element_symbol

    dataset = load_user_data(args, args.target)
    target = args.target or default_target(dataset)
    print(f"source      {args.data}")
    print(f"molecules   {len(dataset)} (frames)")
    print(f"atoms       {dataset.charges.size} (largest molecule {dataset.max_atoms}, smallest "
          f"{int(dataset.n_atoms.min())})")
    print(f"elements    {', '.join(element_symbol(int(z)) for z in np.unique(dataset.charges))}")
    props = ", ".join(f"{k} ({dataset.unit(k) or 'unit not given'})" for k in sorted(dataset.properties))
    print(f"properties  {props or 'none: name a target in the frames, a calculator energy, or a CSV beside the file'}")
    if target is not None:
        y = dataset.target(target)
        unit = dataset.unit(target) or "(unit not given: --unit)"
        print(f"{target:<11} mean {y.mean():.4g}  std {y.std():.4g}  min {y.min():.4g}  max {y.max():.4g} {unit}")
    print(f"sha256      {dataset.content_hash}")
    return 0


def run(args) -> int:
    import numpy as np

    from ..core.data.qm9 import DataError, cache_path, load_qm9, load_qm9_release, read_index_list

    if args.data is not None:
        if args.release or args.exclude_file or args.rebuild:
            raise UsageError("--data reads your own file: leave out --release, --exclude-file and --rebuild")
        return _summarise_file(args)
    if args.target is not None:
        raise UsageError("--target applies to --data only")
    load_user_data(args, None)  # refuses --unit/--csv/--atom-energies without --data
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
