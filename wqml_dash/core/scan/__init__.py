"""Displacement scans: one atom moved along an axis, a reference energy and KRR models along the way.

- `molecule`: a molecule in 3D (`Molecule`) from SMILES, QM9 or a file (`molecule_files`), with
  its bonds; `examples`: the teaching examples, each with what it shows;
- `grid`: the axis, the grid of displacements and the displaced geometries;
- `swaps`: the sorted Coulomb matrix along a scan, where its order swaps or ties, jump ratios;
- `reference_energies`: Lennard-Jones and force-field references;
- `models`: the scan's KRR models (one `Series` each), with leave-one-out hyperparameters;
- `engine`: `ScanSettings`, `ScanEngine` and `ScanResult`, which put these together; `shared`:
  scans every session of a server computes alike, computed once.
"""

from ..._lazy import lazy_exports

_EXPORTS = {name: ".engine" for name in ("ScanEngine", "ScanSettings", "ScanResult", "ScanError", "run_scan",
                                         "scan_csv", "settings_for_example", "MODELS", "MODEL_LABELS", "AXES",
                                         "DEFAULT_MODELS")}
_EXPORTS.update({name: ".molecule" for name in ("Molecule", "MoleculeError", "molecule_from_smiles",
                                                "molecule_from_qm9", "molecule_from_file")})
_EXPORTS.update({"TEACHING_EXAMPLES": ".examples", "molecule_from_example": ".examples"})
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
