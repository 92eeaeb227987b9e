"""ASE ``Atoms`` frames to the arrays of a `MolecularDataset`, with the checks a data set needs.

A frame's numbers come from its ``info`` (extended XYZ's ``key=value`` pairs, an ASE database's
key-value pairs), from its calculator's results (``energy``, ``free_energy``: eV by ASE's
convention) or from a side table given as ``extra``. Every refusal is a one-line `DataError`
that names the data set and the frames. `MolecularDataset.from_ase` is the public entry;
`ase_datasets.load_dataset` reads files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from .errors import DataError

#: Most atoms a molecule of a data set may have. Every Coulomb matrix is padded to the largest
#: molecule, so one 150-atom molecule makes every vector 11,325 entries long.
MAX_DATASET_ATOMS = 150

#: Closer than this (Angstrom), two atoms are one atom twice: their Coulomb entry Z_i Z_j / r explodes.
MIN_SEPARATION = 0.1

#: The units of an ASE calculator's scalar results (ASE's convention); other scalar results have none given.
CALCULATOR_RESULTS = {"energy": "eV", "free_energy": "eV"}

#: Spellings of the energy units this field uses, and the name each is shown as.
UNIT_NAMES = {"ev": "eV", "mev": "meV", "ha": "Ha", "hartree": "Ha", "eh": "Ha", "au": "Ha",
              "kcal/mol": "kcal/mol", "kcal mol-1": "kcal/mol", "kj/mol": "kJ/mol", "kj mol-1": "kJ/mol",
              "ry": "Ry", "rydberg": "Ry", "cm-1": "cm^-1", "cm^-1": "cm^-1"}

def normalize_unit(unit: str | None) -> str:
    """'hartree' -> 'Ha', 'EV' -> 'eV'; a unit this module does not know is kept as given."""
    if unit is None:
        return ""
    text = str(unit).strip()
    return UNIT_NAMES.get(text.lower(), text)


def _frames_list(frames, name: str) -> list:
    from ase import Atoms

    if isinstance(frames, Atoms):
        frames = [frames]
    frames = list(frames)
    if not frames:
        raise DataError(f"{name}: no frames")
    for i, atoms in enumerate(frames):
        if not isinstance(atoms, Atoms):
            raise DataError(f"{name}: frame {i} is a {type(atoms).__name__}, not ase.Atoms")
    return frames


def _which(frames: list[int], limit: int = 5) -> str:
    shown = ", ".join(map(str, frames[:limit]))
    return f"frame {shown}" if len(frames) == 1 else (
        f"frames {shown}" + (f" and {len(frames) - limit} more" if len(frames) > limit else ""))


def _check_geometry(frames: list, name: str, max_atoms: int) -> None:
    """Refuse what is not a set of molecules: empty, periodic, too big, dummy atoms, atoms on one spot."""
    sizes = np.array([len(a) for a in frames])
    if (sizes == 0).any():
        raise DataError(f"{name}: {_which(np.flatnonzero(sizes == 0).tolist())} has no atoms")
    too_big = np.flatnonzero(sizes > max_atoms).tolist()
    if too_big:
        raise DataError(f"{name}: {_which(too_big)} {'has' if len(too_big) == 1 else 'have'} up to "
                        f"{int(sizes.max())} atoms; molecules of a data set may have at most {max_atoms} "
                        f"(every Coulomb matrix is padded to the largest)")
    periodic = [i for i, a in enumerate(frames) if a.pbc.any() and np.abs(a.cell.array).sum() > 0]
    if periodic:
        flags = "".join("TF"[not p] for p in frames[periodic[0]].pbc)
        raise DataError(f"{name}: {_which(periodic)} {'is' if len(periodic) == 1 else 'are'} periodic "
                        f"(pbc {flags}); the Coulomb matrix here is for isolated molecules: remove the cell "
                        f"or cut out a molecule")
    for i, atoms in enumerate(frames):
        z = atoms.numbers
        if (z <= 0).any() or (z > 118).any():
            raise DataError(f"{name}: frame {i} has atoms without a nuclear charge (dummy atoms 'X' or Z > 118)")
        xyz = atoms.positions
        if not np.isfinite(xyz).all():
            raise DataError(f"{name}: frame {i} has coordinates that are not finite numbers")
        if len(atoms) > 1:
            d = np.sqrt(((xyz[:, None, :] - xyz[None, :, :]) ** 2).sum(-1))
            d[np.diag_indices_from(d)] = np.inf
            if d.min() < MIN_SEPARATION:
                a, b = np.unravel_index(np.argmin(d), d.shape)
                raise DataError(f"{name}: frame {i} has atoms {a} and {b} {d[a, b]:.3g} A apart; atoms closer "
                                f"than {MIN_SEPARATION} A make the Coulomb matrix meaningless")


def _scalar(value) -> float | None:
    """A number for a property, None for anything else (strings, arrays, booleans)."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "if":
        return float(value)
    return None


def _frame_numbers(atoms) -> dict[str, tuple[float, str]]:
    """A frame's numbers: key -> (value, unit), from its info and its calculator's results."""
    found: dict[str, tuple[float, str]] = {}
    results = getattr(atoms.calc, "results", None) or {}
    for key, value in results.items():  # extended XYZ puts the names ASE knows (energy, dipole, ...) here
        number = _scalar(value)
        if number is not None:
            found[str(key)] = (number, CALCULATOR_RESULTS.get(key, ""))
    for key, value in atoms.info.items():
        number = _scalar(value)
        if number is not None and key not in found:
            found[str(key)] = (number, "")
    return found


def _properties(frames: list, name: str, target: str | None,
                extra: Mapping[str, tuple[np.ndarray, str]]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    numbers = [_frame_numbers(a) for a in frames]
    units: dict[str, str] = {}
    properties: dict[str, np.ndarray] = {}
    common = set.intersection(*(set(n) for n in numbers)) if numbers else set()
    for key in sorted(common):
        properties[key] = np.array([n[key][0] for n in numbers], dtype=np.float64)
        units[key] = numbers[0][key][1]
    for key, (values, unit) in extra.items():
        properties[key], units[key] = np.asarray(values, dtype=np.float64), unit
    if target is not None and target not in properties:
        missing = [i for i, n in enumerate(numbers) if target not in n]
        if missing and len(missing) < len(frames):
            raise DataError(f"{name}: {_which(missing)} {'has' if len(missing) == 1 else 'have'} no {target!r} "
                            f"(the other frames do); every frame needs the target")
        known = sorted(properties) or ["none"]
        raise DataError(f"{name}: no frame has a number called {target!r}; numbers every frame has: "
                        f"{', '.join(known)} (from the frames' info, their calculator's energy, or a CSV beside "
                        f"the file)")
    for key in list(properties):
        bad = np.flatnonzero(~np.isfinite(properties[key])).tolist()
        if bad and key == target:
            raise DataError(f"{name}: the target {target!r} is NaN or infinite in {_which(bad)}")
        if bad:  # a column with gaps cannot be learned; the target is checked above
            del properties[key], units[key]
    return properties, units


def _atomization(charges: np.ndarray, offsets: np.ndarray, values: np.ndarray,
                 references: Mapping, name: str) -> np.ndarray:
    """``value - sum over atoms of the free-atom reference``, in the references' (= the target's) unit."""
    ref = {}
    for key, energy in references.items():
        from ase.data import atomic_numbers

        z = atomic_numbers.get(key) if isinstance(key, str) else int(key)
        if z is None:
            raise DataError(f"{name}: unknown element {key!r} among the free-atom references")
        ref[z] = float(energy)
    missing = sorted(set(np.unique(charges).tolist()) - set(ref))
    if missing:
        from ase.data import chemical_symbols

        raise DataError(f"{name}: no free-atom reference energy for {', '.join(chemical_symbols[z] for z in missing)}; "
                        f"give one per element to get atomization energies")
    table = np.zeros(max(ref) + 1)
    for z, energy in ref.items():
        table[z] = energy
    return values - np.add.reduceat(table[charges], offsets[:-1])


def arrays_from_ase(frames: Iterable, target: str | None = None, unit: str | None = None, *,
                    name: str = "ASE frames", references: Mapping | None = None,
                    extra: Mapping[str, tuple[np.ndarray, str]] | None = None,
                    max_atoms: int = MAX_DATASET_ATOMS) -> dict:
    """The `MolecularDataset` fields of ``ase.Atoms`` frames (`MolecularDataset.from_ase` calls this).

    Parameters
    ----------
    frames : ase.Atoms or iterable of them, positions in Angstrom, any elements, up to ``max_atoms`` atoms
    target : the number to learn; checked to be present and finite in every frame (None: no check)
    unit : the unit of the target's numbers ('eV', 'Ha', 'kcal/mol', ...). Default: eV for a
        calculator's energy (ASE's convention), else not given ('').
    name : a label for messages and the app (a file's name)
    references : free-atom energies in the target's unit, by element symbol or nuclear charge;
        given, the data set also has ``atomization_energy`` = target - sum of the atoms' references
    extra : more properties, key -> ((n_frames,) values, unit), e.g. from a CSV beside a file
    max_atoms : the largest molecule accepted

    Returns
    -------
    dict of `MolecularDataset` fields: charges, coordinates, offsets, ``index`` (the frame numbers),
    smiles (``info['smiles']`` or ''), properties (the numbers every frame has; those with NaN or
    infinite values other than the target are left out), units, name, ``index_name='frame'``.

    Raises
    ------
    DataError
        no frames; a frame without atoms, periodic, too large, with dummy atoms or two atoms on
        one spot; the target missing, NaN or infinite in some frames.
    """
    frames = _frames_list(frames, name)
    _check_geometry(frames, name, max_atoms)
    extra = dict(extra or {})
    for key, (values, _) in extra.items():
        if len(values) != len(frames):
            raise DataError(f"{name}: the table of {key!r} has {len(values)} rows for {len(frames)} frames")
    properties, units = _properties(frames, name, target, extra)
    if unit is not None and target is not None:
        units[target] = normalize_unit(unit)
    counts = np.array([len(a) for a in frames], dtype=np.int64)
    offsets = np.zeros(len(frames) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    charges = np.concatenate([a.numbers for a in frames]).astype(np.int8)
    coordinates = np.concatenate([a.positions for a in frames]).astype(np.float64)
    if references is not None:
        if target is None:
            raise DataError(f"{name}: free-atom references need a target energy to subtract them from")
        properties["atomization_energy"] = _atomization(charges, offsets, properties[target], references, name)
        units["atomization_energy"] = units[target]
    smiles = np.array([str(a.info.get("smiles", "")) for a in frames], dtype=object).astype(str)
    return dict(charges=charges, coordinates=coordinates, offsets=offsets,
                index=np.arange(len(frames), dtype=np.int64), smiles=smiles,
                properties=properties, name=name, units=units, index_name="frame")
