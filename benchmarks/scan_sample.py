"""Displacement scans of a seeded sample of QM9 molecules and atoms: do the scans stay chemical, and
does the jump ratio tell a jumping model from a smooth one? (issue 16, item 2)

    python benchmarks/scan_sample.py [--molecules 12] [--atoms 3] [--seed 0] [--seeds 0,1]
                                     [--json benchmarks/results/scan_sample.json]

The issue's molecule (QM9 #9187, ``C#CCNC(=O)NC``, atoms 0, 3 and 6) comes first, then ``--molecules``
molecules drawn with ``--seed`` and ``--atoms`` atoms of each (any element). Every scan has the default
settings (normal axis, d from -1 to 1 Angstrom in steps of 0.01, the Lennard-Jones reference, 10
training points, the chemical cut-off and the 1,000 kcal/mol energy ceiling) and each training-set seed
of ``--seeds``. Per scan: geometries kept and left out (collisions / energy ceiling), the reference's
span, the jump ratios of L1 sorted and W1, whether every L1-sorted step above the threshold lies at a
swap point or a tie (within one grid step) or else touches a training point (where an ill-conditioned
fit, lambda = 1e-10, can make the kernel's kink a step), W1's steps above it and whether each touches
a training point, and the notices. The issue's three scans are also run with the old settings (0.5 Angstrom,
no ceiling) and the old ratio (largest step / the reference's largest step) for comparison.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from wqml_dash.core.data import load_qm9
from wqml_dash.core.scan.engine import ScanEngine
from wqml_dash.core.scan.grid import collision_free
from wqml_dash.core.scan.molecule import molecule_from_qm9
from wqml_dash.core.scan.settings import ScanSettings
from wqml_dash.core.scan.swaps import JUMP_THRESHOLD, jump_intervals

#: The issue's molecule (QM9 index) and atoms.
ISSUE_CASE = (9187, (0, 3, 6))


def sample(qm9, molecules: int, atoms: int, seed: int) -> list[tuple[int, int]]:
    """(QM9 index, atom) pairs: the issue's three, then ``atoms`` atoms of ``molecules`` seeded molecules."""
    rng = np.random.default_rng(seed)
    pairs = [(ISSUE_CASE[0], a) for a in ISSUE_CASE[1]]
    for row in rng.choice(len(qm9.index), molecules, replace=False):
        n = int(qm9.n_atoms[row])
        for a in sorted(rng.choice(n, min(atoms, n), replace=False)):
            pairs.append((int(qm9.index[row]), int(a)))
    return pairs


def at_swap_or_tie(interval: int, result) -> bool:
    """Whether grid interval (interval, interval + 1) lies within one grid step of a swap or a tie."""
    for a, b in result.swap_intervals:
        if a - 1 <= interval <= b:
            return True
    return any(t - 2 <= interval <= t + 1 for t in result.tie_index)


def touches_training_point(interval: int, result) -> bool:
    """Whether grid interval (interval, interval + 1) has a training point within one grid step."""
    return bool(np.isin(np.arange(interval - 1, interval + 3), result.train_index).any())


def old_ratio(values, reference, valid) -> float:
    """The jump ratio before issue 16: the largest step over the reference's largest step."""
    pairs = valid[:-1] & valid[1:]
    return float(np.abs(np.diff(values))[pairs].max() / np.abs(np.diff(reference))[pairs].max())


def scan_row(mol, qm9_index: int, atom: int, seed: int, **settings) -> dict:
    s = ScanSettings(atom=atom, models=["l1_sorted", "w1"], **settings)
    engine = ScanEngine(mol, s)
    r = engine.result(seed=seed)
    apart = collision_free(mol, atom, engine.geometries, s.min_distance)
    span = float(np.nanmax(r.reference) - np.nanmin(r.reference))
    l1_jumps = jump_intervals(r.models["l1_sorted"], r.reference, r.valid)[:, 0]
    w1_jumps = jump_intervals(r.models["w1"], r.reference, r.valid)[:, 0]
    notices = [n.split(":")[0] if n.startswith("Tie") else n for n in r.notices]
    return {
        "qm9_index": qm9_index, "smiles": mol.smiles, "atom": atom, "element": mol.symbols[atom],
        "axis": "normal", "seed": seed, "kept": int(r.valid.sum()), "left_out": int((~r.valid).sum()),
        "left_out_collisions": int((~apart).sum()), "left_out_ceiling": int((apart & ~r.valid).sum()),
        "reference_span_kcal_mol": span,
        "jump_ratio": {k: float(v) for k, v in r.jump_ratio.items()},
        "swap_points": len(r.swap_points), "tie_points": len(r.tie_points),
        "l1_sorted_jumps": len(l1_jumps),
        "l1_sorted_jumps_off_swaps_and_ties": int(sum(not at_swap_or_tie(int(i), r) for i in l1_jumps)),
        "l1_sorted_jumps_off_swaps_ties_and_training_points": int(sum(
            not at_swap_or_tie(int(i), r) and not touches_training_point(int(i), r) for i in l1_jumps)),
        "w1_jumps": len(w1_jumps),
        "w1_jumps_away_from_training_points": int(sum(not touches_training_point(int(i), r) for i in w1_jumps)),
        "old_ratio": {k: old_ratio(v, r.reference, r.valid) for k, v in r.models.items()},
        "notices": notices,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--molecules", type=int, default=12)
    parser.add_argument("--atoms", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="seeds the choice of molecules and atoms")
    parser.add_argument("--seeds", default="0", help="training-set seeds, comma-separated")
    parser.add_argument("--json", default="benchmarks/results/scan_sample.json")
    args = parser.parse_args(argv)
    qm9 = load_qm9()
    seeds = [int(s) for s in args.seeds.split(",")]
    start = time.perf_counter()
    rows, before = [], []
    for qm9_index, atom in sample(qm9, args.molecules, args.atoms, args.seed):
        mol = molecule_from_qm9(qm9, qm9_index)
        for seed in seeds:
            rows.append(scan_row(mol, qm9_index, atom, seed))
        if qm9_index == ISSUE_CASE[0]:
            before.append(scan_row(mol, qm9_index, atom, seeds[0], min_distance=0.5, max_energy=None))
    seconds = time.perf_counter() - start

    print(f"{'QM9':>6} {'SMILES':<22} {'atom':>5} {'seed':>4} {'kept':>4} {'out':>4} {'span':>9} "
          f"{'L1 sorted':>9} {'W1':>5} {'swaps':>5} {'ties':>4} {'L1 jumps':>8} {'off':>3}  notices")
    for r in rows:
        print(f"{r['qm9_index']:>6} {r['smiles'][:22]:<22} {r['element'] + str(r['atom']):>5} {r['seed']:>4} "
              f"{r['kept']:>4} {r['left_out']:>4} {r['reference_span_kcal_mol']:>9,.0f} "
              f"{r['jump_ratio']['l1_sorted']:>9.1f} {r['jump_ratio']['w1']:>5.2f} {r['swap_points']:>5} "
              f"{r['tie_points']:>4} {r['l1_sorted_jumps']:>8} {r['l1_sorted_jumps_off_swaps_and_ties']:>3}  "
              + " | ".join(n[:70] for n in r["notices"]))
    w1 = np.array([r["jump_ratio"]["w1"] for r in rows])
    l1 = np.array([r["jump_ratio"]["l1_sorted"] for r in rows])
    with_swaps = np.array([r["swap_points"] + r["tie_points"] > 0 for r in rows])
    summary = {
        "scans": len(rows),
        "w1_ratio": {"median": float(np.median(w1)), "p95": float(np.percentile(w1, 95)), "max": float(w1.max()),
                     "scans_above_2": int((w1 > 2).sum()), "scans_above_threshold": int((w1 > JUMP_THRESHOLD).sum())},
        "w1_jumps_away_from_training_points": int(sum(r["w1_jumps_away_from_training_points"] for r in rows)),
        "l1_sorted_ratio_median": float(np.median(l1)),
        "l1_sorted_jumps_off_swaps_and_ties": int(sum(r["l1_sorted_jumps_off_swaps_and_ties"] for r in rows)),
        "l1_sorted_jumps_off_swaps_ties_and_training_points": int(sum(
            r["l1_sorted_jumps_off_swaps_ties_and_training_points"] for r in rows)),
        "scans_with_swaps_or_ties": int(with_swaps.sum()),
        "of_those_l1_sorted_above_threshold": int((l1[with_swaps] > JUMP_THRESHOLD).sum()),
        "reference_span_max_kcal_mol": float(max(r["reference_span_kcal_mol"] for r in rows)),
        "seconds": seconds,
    }
    w = summary["w1_ratio"]
    print(f"\n{len(rows)} scans in {seconds:.1f} s. W1: median {w['median']:.2f}, p95 {w['p95']:.2f}, max "
          f"{w['max']:.2f} ({w['scans_above_2']} above 2, {w['scans_above_threshold']} above {JUMP_THRESHOLD:g}; W1 "
          "steps above it away "
          f"from training points: {summary['w1_jumps_away_from_training_points']}). L1 sorted: median "
          f"{summary['l1_sorted_ratio_median']:.1f}, above {JUMP_THRESHOLD:g} in "
          f"{summary['of_those_l1_sorted_above_threshold']} of {summary['scans_with_swaps_or_ties']} scans with swaps "
          f"or ties; L1-sorted steps above it off swap points and ties: "
          f"{summary['l1_sorted_jumps_off_swaps_and_ties']} (of which not at a training point either: "
          f"{summary['l1_sorted_jumps_off_swaps_ties_and_training_points']}). Largest reference span "
          f"{summary['reference_span_max_kcal_mol']:,.0f} kcal/mol.")
    print("\nThe issue's scans with the old settings (0.5 Å, no ceiling): new ratio / old ratio")
    for r in before:
        print(f"  atom {r['atom']}: left out {r['left_out']}, span {r['reference_span_kcal_mol']:,.0f} kcal/mol; "
              f"L1 sorted {r['jump_ratio']['l1_sorted']:.1f} / {r['old_ratio']['l1_sorted']:.2f}, "
              f"W1 {r['jump_ratio']['w1']:.2f} / {r['old_ratio']['w1']:.2f}")
    report = {"settings": vars(args), "threshold": JUMP_THRESHOLD, "summary": summary, "scans": rows,
              "issue_case_old_settings": before, "machine": platform.platform()}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
        print(f"wrote {args.json}")
    return report


if __name__ == "__main__":
    main()
