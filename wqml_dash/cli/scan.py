"""``wqml scan``: a displacement scan (the paper's Fig. 2) from the command line.

Every option maps onto a parameter of `wqml_dash.core.scan.engine.ScanSettings`, whose defaults and
bounds are the ones used here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .common import UsageError, float_list, read_molecule_file


def _defaults():
    from ..core.scan.settings import ScanSettings

    return ScanSettings.param


def add_parser(sub) -> None:
    from ..core.scan.settings import AXES, MODELS
    from ..core.scan.engine import REFERENCES
    from ..core.scan.examples import TEACHING_EXAMPLES, example_files

    p = _defaults()
    scan = sub.add_parser(
        "scan", help="move one atom along an axis and compare KRR models (the paper's Fig. 2)",
        description="Move one atom of a molecule along an axis, compute a reference energy along the "
                    "scan, train KRR models on a few points and report their predictions, the swap "
                    "points of the sorted Coulomb matrix and each model's jump ratio.")
    src = scan.add_mutually_exclusive_group(required=True)
    src.add_argument("--smiles", metavar="S", help="a molecule from SMILES (3D embedding, seed 0, MMFF94)")
    src.add_argument("--qm9", metavar="INDEX", type=int,
                     help="QM9 molecule by QM9's own 1-based number ('gdb INDEX', dataset.index; not a 0-based row)")
    src.add_argument("--file", metavar="PATH", help="an .xyz, .sdf/.mol or .pdb file, or any molecule file ASE "
                                                    "reads (.extxyz, .traj, .db, .json, Gaussian/ORCA outputs, ...)")
    src.add_argument("--example", choices=list(TEACHING_EXAMPLES),
                     help="a teaching example (its atom and axis are the defaults)")
    src.add_argument("--example-file", choices=list(example_files()), metavar="NAME",
                     help="an example file shipped with wqml-dash, read as --file reads one: "
                          + ", ".join(example_files()))
    scan.add_argument("--frame", type=int, metavar="K", default=None,
                      help="with --file: frame K of a file of several (a trajectory, a multi-frame XYZ, an SDF's "
                           "record K), 0-based, negative from the end (default 0)")
    scan.add_argument("--atom", type=int, metavar="I", help="index of the moving atom, 0-based (required "
                                                            "except with --example)")
    scan.add_argument("--axis", choices=list(AXES), default=None,
                      help=f"direction of motion (default {p.axis.default}: normal of the best-fit plane)")
    scan.add_argument("--partner", type=int, metavar="J", help="with --axis bond: the other atom")
    scan.add_argument("--vector", type=float_list, metavar="X,Y,Z", help="with --axis custom: the direction")
    scan.add_argument("--range", type=float, nargs=2, metavar=("MIN", "MAX"),
                      default=[p.d_min.default, p.d_max.default], help="displacements, Angstrom (default -1 1)")
    scan.add_argument("--step", type=float, metavar="ANGSTROM", default=p.step.default,
                      help="grid step, Angstrom (default 0.01)")
    scan.add_argument("--n-train", type=int, metavar="N", default=p.n_train.default,
                      help="training points (default 10)")
    scan.add_argument("--n-train-large", type=int, metavar="N", default=p.n_train_large.default,
                      help="training points of l1_sorted_large (default 80)")
    scan.add_argument("--seed", type=int, metavar="N", default=p.seed.default, help="training-set seed (default 0)")
    scan.add_argument("--models", default=",".join(MODELS), metavar="M1,M2",
                      help=f"comma-separated, from {', '.join(MODELS)} (default: all)")
    scan.add_argument("--reference", choices=list(REFERENCES), default=p.reference.default,
                      help="reference energy (default lj, a Lennard-Jones model potential)")
    scan.add_argument("--sigma", type=float, metavar="S",
                      help="kernel width for every model (default: leave-one-out CV)")
    scan.add_argument("--lam", type=float, metavar="L", help="regularisation lambda (default: leave-one-out CV)")
    scan.add_argument("--min-distance", type=float, metavar="ANGSTROM", default=p.min_distance.default,
                      help="Angstrom; geometries with atoms closer than this are left out (default: the "
                           "chemical collision distance, 0.6 of the sum of the two atoms' covalent radii)")
    scan.add_argument("--max-energy", type=_ceiling, metavar="KCAL", default=p.max_energy.default,
                      help="kcal/mol; geometries whose reference lies more than this above its minimum over the "
                           f"scan are left out ('none': no ceiling; default {p.max_energy.default:g})")
    scan.add_argument("--json", metavar="PATH", help="write the scan as JSON ('-' for standard output)")
    scan.add_argument("--csv", metavar="PATH", help="write the scan as CSV: a '#' header with the setup, then "
                                                    "one row per grid point, units in the column names")
    scan.set_defaults(func=run)


def _ceiling(text: str) -> float | None:
    """``--max-energy``: a number of kcal/mol, or 'none' for no energy ceiling."""
    return None if text.strip().lower() in ("none", "off") else float(text)


def _molecule(args):
    from ..core.scan.examples import molecule_from_example, molecule_from_example_file
    from ..core.scan.molecule_files import molecule_from_file
    from ..core.scan.molecule import molecule_from_qm9, molecule_from_smiles

    if args.frame is not None and args.file is None:
        raise UsageError("--frame chooses a frame of a --file")
    if args.smiles is not None:
        return molecule_from_smiles(args.smiles)
    if args.example is not None:
        return molecule_from_example(args.example)
    if args.example_file is not None:
        return molecule_from_example_file(args.example_file)
    if args.file is not None:
        data, name = read_molecule_file(args.file)
        return molecule_from_file(data, name, frame=args.frame or 0)
    from ..core.data import DataError, load_qm9

    try:
        dataset = load_qm9(progress=lambda d, t, m: print(f"QM9: {m}", file=sys.stderr))
    except (DataError, OSError) as exc:
        raise UsageError(str(exc)) from None
    return molecule_from_qm9(dataset, args.qm9)


def _settings(args):
    from ..core.scan.settings import MODELS, ScanSettings
    from ..core.scan.examples import TEACHING_EXAMPLES

    example = TEACHING_EXAMPLES.get(args.example) if args.example else None
    atom = args.atom if args.atom is not None else (example.atom if example else None)
    if atom is None:
        raise UsageError("--atom is required (the index of the atom to move, 0-based)")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise UsageError(f"unknown model(s) {unknown}; choose from {', '.join(MODELS)}")
    axis = args.axis or (example.axis if example and args.atom is None else "normal")
    partner = args.partner if args.partner is not None else (example.partner if example and axis == "bond" else None)
    values = dict(atom=atom, axis=axis, partner=partner, d_min=args.range[0], d_max=args.range[1],
                  step=args.step, n_train=args.n_train, n_train_large=args.n_train_large, seed=args.seed,
                  models=models, reference=args.reference, sigma=args.sigma, lam=args.lam,
                  min_distance=args.min_distance, max_energy=args.max_energy)
    if args.vector is not None:
        if len(args.vector) != 3:
            raise UsageError("--vector needs three numbers: X,Y,Z")
        values["custom_axis"] = tuple(args.vector)
    elif axis == "custom":
        raise UsageError("--axis custom needs --vector X,Y,Z")
    try:
        return ScanSettings(**values)
    except ValueError as exc:  # param's bound and type checks
        raise UsageError(_param_message(exc)) from None


def _param_message(exc: ValueError) -> str:
    text = str(exc).splitlines()[0]
    for name, flag in (("step", "--step"), ("n_train_large", "--n-train-large"), ("n_train", "--n-train"),
                       ("atom", "--atom"), ("min_distance", "--min-distance"), ("lam", "--lam"),
                       ("sigma", "--sigma"), ("seed", "--seed"), ("partner", "--partner"),
                       ("max_energy", "--max-energy")):
        if f"'{name}'" in text or f".{name}" in text:
            return f"{flag}: {text}"
    return text


def run(args) -> int:
    from ..core.scan.engine import MODEL_LABELS, ScanEngine
    from ..core.scan.molecule import MoleculeError

    try:
        mol = _molecule(args)
        settings = _settings(args)
        result = ScanEngine(mol, settings).result()
    except MoleculeError as exc:  # includes scan and reference errors
        raise UsageError(str(exc)) from None
    out = sys.stderr if args.json == "-" else sys.stdout
    _summary(mol, settings, result, MODEL_LABELS, out)
    if args.csv:
        from ..core.scan.engine import scan_csv

        try:
            Path(args.csv).write_text(scan_csv(result, mol, settings))
        except OSError as exc:
            raise UsageError(f"cannot write {args.csv}: {exc.strerror or exc}") from None
        print(f"wrote {args.csv}", file=out)
    if args.json:
        from .. import __version__

        payload = {"wqml_dash_version": __version__, **result.to_json()}
        payload["molecule"] = {"name": mol.name, "smiles": mol.smiles, "source": mol.source,
                               "symbols": mol.symbols, "coords": mol.coords.tolist()}
        text = json.dumps(payload)
        if args.json == "-":
            print(text)
            return 0
        try:
            Path(args.json).write_text(text + "\n")
        except OSError as exc:
            raise UsageError(f"cannot write {args.json}: {exc.strerror or exc}") from None
        print(f"wrote {args.json}", file=out)
    return 0


def _summary(mol, settings, result, labels, out) -> None:
    sym = mol.symbols[settings.atom]
    ax = ", ".join(f"{v:+.3f}" for v in result.axis)
    print(f"molecule     {mol.name} ({mol.formula}, {len(mol)} atoms; {mol.source})", file=out)
    print(f"moving atom  {settings.atom} ({sym}) along {settings.axis} = ({ax})", file=out)
    print(f"grid         d from {result.d[0]:+.3f} to {result.d[-1]:+.3f} Å, {result.d.size} points, "
          f"{int(result.valid.sum())} valid; reference {result.reference_name}", file=out)
    for notice in result.notices:
        print(f"notice       {notice}", file=out)
    swaps = ", ".join(f"{v:+.3f}" for v in result.swap_points)
    print(f"swap points  {swaps + ' Å' if swaps else 'none'}", file=out)
    ties = ", ".join(f"{v:+.3f}" for v in result.tie_points)
    print(f"tie points   {ties + ' Å (equal row norms: a one-point spike of sorted-CM models)' if ties else 'none'}",
          file=out)
    print(f"{'model':<36} {'jump ratio':>10} {'sigma':>11} {'lambda':>9}", file=out)
    for name, ratio in result.jump_ratio.items():
        sigma, lam = result.hyperparameters[name]
        print(f"{labels.get(name, name):<36} {ratio:>10.2f} {sigma:>11.4g} {lam:>9.1g}", file=out)

