"""``wqml predict``: one molecule's prediction from a saved model, with a warning where the molecule lies
outside what the model was trained on.

The model is a file of `core.learn.model_io` (``wqml train`` writes one; so does ``save_model``): arrays
and JSON, loaded without pickle. The molecule comes from SMILES (RDKit embedding), a file (any format
``wqml scan --file`` reads) or QM9 by its own 1-based number.
"""

from __future__ import annotations

import sys

from .common import UsageError, check_json_destination, human_output, read_molecule_file, write_json


def add_parser(sub) -> None:
    p = sub.add_parser(
        "predict", help="predict a molecule's property with a saved model (wqml train, save_model)",
        description="Predict one molecule with a model saved by `wqml train` or `save_model`. A warning "
                    "(standard error) says when the molecule has elements the model never saw, more atoms than "
                    "its largest training molecule, or a geometry from another source (e.g. an RDKit geometry "
                    "from SMILES for a model of QM9's DFT geometries); a molecule larger than the model's "
                    "Coulomb matrices is refused (exit 2).")
    p.add_argument("--model", metavar="M", required=True, help="the model file (.npz)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--smiles", metavar="S", help="a molecule from SMILES (3D embedding, seed 0, MMFF94)")
    src.add_argument("--file", metavar="F", help="a molecule file: .xyz, .sdf/.mol, .pdb, or any file ASE reads")
    src.add_argument("--qm9", metavar="I", type=int,
                     help="QM9 molecule number I, QM9's own 1-based index as in its files and `wqml data` (the "
                          "library's dataset.molecule(row) counts rows from 0 instead)")
    p.add_argument("--frame", type=int, metavar="K", default=None,
                   help="with --file: frame K of a file of several, 0-based, negative from the end (default 0)")
    p.add_argument("--json", metavar="PATH", help="write the prediction as JSON ('-' for standard output)")
    p.set_defaults(func=run)


def _molecule(args) -> tuple[object, dict, float | None]:
    """(molecule, its description for people and JSON, QM9's own value of the target or None)."""
    from ..core.scan.molecule import MoleculeError, molecule_from_smiles
    from ..core.scan.molecule_files import molecule_from_file

    if args.frame is not None and args.file is None:
        raise UsageError("--frame chooses a frame of a --file")
    try:
        if args.smiles is not None:
            mol = molecule_from_smiles(args.smiles)
        elif args.file is not None:
            data, name = read_molecule_file(args.file)
            mol = molecule_from_file(data, name, frame=args.frame or 0)
        else:
            return _qm9_molecule(args.qm9)
    except MoleculeError as exc:
        raise UsageError(str(exc)) from None
    return mol, {"name": mol.name, "formula": mol.formula, "atoms": len(mol), "smiles": mol.smiles,
                 "source": mol.source}, None


def _qm9_molecule(number: int):
    import numpy as np

    from ..core.data import DataError, load_qm9
    from ..core.features.transformers import Geometry

    try:
        qm9 = load_qm9(progress=lambda d, t, m: print(f"QM9: {m}", file=sys.stderr))
    except (DataError, OSError) as exc:
        raise UsageError(str(exc)) from None
    rows = np.flatnonzero(qm9.index == number)
    if rows.size == 0:
        raise UsageError(f"QM9 has no molecule #{number} (QM9's own numbers, 1-based, run from {qm9.index.min()} "
                         f"to {qm9.index.max()}; those that failed QM9's checks are left out)")
    row = int(rows[0])
    charges, coords = qm9.molecule(row)
    formula = qm9.formula(row)
    info = {"name": f"QM9 #{number} {formula}", "formula": formula, "atoms": int(charges.size),
            "smiles": str(qm9.smiles[row]) or None, "source": f"qm9:{number}"}
    return Geometry(charges, coords, "QM9"), info, qm9


def run(args) -> int:
    import numpy as np

    from ..core.learn.domain import OutOfDomainError, check_domain
    from ..core.learn.model_io import ModelFormatError, load_model_with_info

    check_json_destination(args.json)
    try:
        model, settings = load_model_with_info(args.model)
    except ModelFormatError as exc:
        raise UsageError(str(exc)) from None
    if not settings.get("pipeline"):
        raise UsageError(f"{args.model}: this model takes representation vectors, not molecules (it was saved "
                         "without its CoulombMatrix or BagOfBonds step); save the Pipeline instead")
    training = settings.get("training") or {}
    mol, info, qm9 = _molecule(args)
    try:
        warnings = check_domain(training, mol)
        value = float(model.predict([mol])[0])
    except (OutOfDomainError, ValueError) as exc:
        raise UsageError(f"{info['name']}: {exc}") from None
    target, unit = training.get("target") or "prediction", training.get("unit") or ""
    reference = None
    if qm9 is not None and target in qm9.properties:
        reference = float(qm9.properties[target][np.flatnonzero(qm9.index == args.qm9)[0]])
    for w in warnings:
        print(f"wqml: warning: {info['name']}: {w}", file=sys.stderr)
    out = human_output(args.json)
    line = f"{info['name']} ({info['atoms']} atoms): {target} = {value:.4f} {unit}".rstrip()
    if reference is not None:
        line += f"  (QM9: {reference:.4f}, error {value - reference:+.4f})"
    if args.json != "-":
        print(line, file=out)
    write_json(args.json, {"prediction": value, "target": target, "unit": unit, "molecule": info,
                           "reference": reference, "warnings": warnings,
                           "model": {"path": str(args.model), "wqml_dash_version": settings.get("wqml_dash_version"),
                                     "training": training}})
    return 0
