"""Hypothesis fuzzing of the parsers and public entry points.

Invariant for every target: a valid result, or the documented user error (`MoleculeError` and
its subclasses for molecules and scans, ValueError for settings, ``argparse`` usage errors,
exit code 2 on the CLI); never another exception, never a hang (a per-example deadline, far
above the normal cost, catches runaway work; pytest-timeout catches a true hang).

Each test runs at two depths (see conftest.py): ``default`` in the normal suite and
``thorough`` (marked slow). The examples each target ran are counted (`fuzz_record`).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import re
import time
import urllib.parse
from datetime import timedelta
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wqml_dash.core.scan.settings import AXES, MODELS, ScanSettings
from wqml_dash.core.scan.engine import REFERENCES, ScanEngine
from wqml_dash.core.scan.molecule import MAX_ATOMS, Molecule, MoleculeError, molecule_from_smiles, search_qm9
from wqml_dash.core.scan.examples import molecule_from_example
from wqml_dash.core.scan.molecule_files import molecule_from_file

#: Examples per target: (default, thorough). Targets that build a whole explorer or run a
#: full scan per example get fewer, so that the default file stays well under a minute.
BUDGET = {
    "file_bytes": (300, 5000), "file_text": (300, 5000), "file_mutations": (400, 8000),
    "smiles_text": (300, 4000), "smiles_mutations": (300, 4000), "search_qm9": (200, 3000),
    "scan_engine": (120, 2000), "cli_lists": (400, 10000), "cli_scan_argv": (80, 1500),
    "run_config": (300, 5000), "explorer_url": (15, 600),
}
#: Per-example deadline (a hang guard, not a timing assertion): seconds.
DEADLINE = {"explorer_url": 60, "scan_engine": 30, "cli_scan_argv": 30}
INTERNALS = ("Traceback", "Pre-condition Violation", "boost::", "File \"")
DEPTHS = ["default", pytest.param("thorough", marks=[pytest.mark.slow, pytest.mark.timeout(3600)])]


def fuzz(name: str, depth: str, strategy, body, record) -> None:
    """Run ``body(example)`` on ``strategy``'s examples with target ``name``'s budget and count them."""
    thorough = depth == "thorough" or os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
    n = BUDGET[name][1 if thorough else 0]

    @settings(max_examples=n, deadline=timedelta(seconds=DEADLINE.get(name, 20)), derandomize=not thorough,
              database=None, suppress_health_check=list(HealthCheck), print_blob=True)
    @given(strategy)
    def run(example):
        record.examples[name] += 1
        record.outcomes[name][body(example) or "valid"] += 1

    record.depths[name] = "thorough" if thorough else "default"
    record.budget[name] = n
    start = time.perf_counter()
    try:
        run()
    finally:
        record.seconds[name] += time.perf_counter() - start


def user_message(exc: BaseException) -> str:
    """A documented user error reads as one sentence for people, without library internals."""
    text = str(exc)
    assert text and not any(s in text for s in INTERNALS), text
    return "user_error"


# ------------------------------------------------------------------------------- valid files to mutate
@cache
def valid_files() -> tuple[tuple[str, str], ...]:
    """(text, extension) of real XYZ, SDF and PDB files: formic acid and acrolein."""
    from rdkit import Chem

    out = []
    for key in ("formic_acid", "acrolein"):
        mol = molecule_from_example(key)
        rd = mol.to_rdkit()
        out += [(mol.to_xyz(), ".xyz"), (Chem.MolToMolBlock(rd) + "$$$$\n", ".sdf"), (Chem.MolToPDBBlock(rd), ".pdb")]
    return tuple(out)


TOKENS = ["nan", "NaN", "inf", "-inf", "1e999", "-1e999", "0", "-0", "1e308", "-1", "999999999999", "3.5.2", "",
          "X", "Xx", "He", "Og", "Uuo", "*", "H", "C", "0x10", "\uff11", "\x00", "1,5", "+1", ".5", "5.", "-",
          "V2000", "V3000", "M  END", "$$$$", "ATOM", "HETATM", "END", "CONECT", "999", "119", "300", "301"]


@st.composite
def mutated_file(draw):
    text, ext = draw(st.sampled_from(valid_files()))
    lines = text.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["token", "delete", "duplicate", "swap", "insert", "truncate", "flip", "count"]))
        if not lines:
            lines = [""]
        i = draw(st.integers(0, len(lines) - 1))
        if op == "token":
            parts = lines[i].split(" ")
            k = draw(st.integers(0, len(parts) - 1))
            parts[k] = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=6)))
            lines[i] = " ".join(parts)
        elif op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "insert":
            lines.insert(i, draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=40))))
        elif op == "truncate":
            joined = "\n".join(lines)
            lines = joined[:draw(st.integers(0, len(joined)))].split("\n")
        elif op == "flip" and lines[i]:
            pos = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:pos] + draw(st.characters()) + lines[i][pos + 1:]
        elif op == "count" and ext == ".xyz":
            lines[0] = str(draw(st.integers(-3, 400)))
    new_ext = draw(st.one_of(st.just(ext), st.sampled_from([".xyz", ".sdf", ".mol", ".pdb", ".ent"])))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"])), new_ext


def read_file_or_user_error(data, name: str) -> None:
    try:
        mol = molecule_from_file(data, name)
    except MoleculeError as exc:
        return user_message(exc)
    assert 1 <= len(mol) <= MAX_ATOMS
    assert np.isfinite(mol.coords).all() and mol.coords.shape == (len(mol), 3)
    assert ((mol.charges >= 1) & (mol.charges <= 118)).all()


EXTENSIONS = st.sampled_from([".xyz", ".sdf", ".mol", ".pdb", ".ent", ".sd", ".txt", "", ".XYZ"])


@pytest.mark.parametrize("depth", DEPTHS)
def test_fuzz_file_bytes(depth, fuzz_record):
    strategy = st.tuples(st.binary(max_size=3000), EXTENSIONS, st.text(max_size=12))
    fuzz("file_bytes", depth, strategy, lambda x: read_file_or_user_error(x[0], x[2] + x[1]), fuzz_record)


@pytest.mark.parametrize("depth", DEPTHS)
def test_fuzz_file_text(depth, fuzz_record):
    strategy = st.tuples(st.text(max_size=3000), EXTENSIONS, st.booleans())
    fuzz("file_text", depth, strategy,
         lambda x: read_file_or_user_error(x[0].encode("utf-8") if x[2] else x[0], "upload" + x[1]), fuzz_record)


@pytest.mark.parametrize("depth", DEPTHS)
def test_fuzz_file_mutations(depth, fuzz_record):
    fuzz("file_mutations", depth, mutated_file(),
         lambda x: read_file_or_user_error(x[0].encode("utf-8", "surrogatepass"), "mutant" + x[1]), fuzz_record)


# ------------------------------------------------------------------------------- SMILES
SMILES_ALPHABET = "CNOSPFIBrcnosp()[]=#@+-\\/.%0123456789HlaeKi*:"
REAL_SMILES = ["O=CO", "C=CC=O", "c1ccncc1", "CC(=O)N", "C#N", "OCC(O)CO", "c1ccoc1", "CC1CC1", "N#CC#N", "[NH4+]",
               "C[C@H](N)C(=O)O", "F/C=C/F", "CC(C)(C)O", "O=C1CCC1", "c1cc[nH]c1", "C1=CC=CC=C1", "OC(=O)C#C"]


@st.composite
def mutated_smiles(draw):
    text = draw(st.sampled_from(REAL_SMILES))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        pos = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from(SMILES_ALPHABET))
        if op == "insert":
            text = text[:pos] + char + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + 1:]
        elif op == "replace":
            text = text[:pos] + char + text[pos + 1:]
        else:
            text = text[:pos] + text[pos:pos + 4] + text[pos:]
    return text[:40]


def smiles_or_user_error(text: str) -> None:
    try:
        mol = molecule_from_smiles(text)
    except MoleculeError as exc:
        return user_message(exc)
    assert np.isfinite(mol.coords).all() and len(mol) >= 1


@pytest.mark.parametrize("depth", DEPTHS)
def test_fuzz_smiles_text(depth, fuzz_record):
    strategy = st.one_of(st.text(alphabet=SMILES_ALPHABET, max_size=20), st.text(max_size=30))
    fuzz("smiles_text", depth, strategy, smiles_or_user_error, fuzz_record)


@pytest.mark.parametrize("depth", DEPTHS)
def test_fuzz_smiles_mutations(depth, fuzz_record):
    fuzz("smiles_mutations", depth, mutated_smiles(), smiles_or_user_error, fuzz_record)


# ------------------------------------------------------------------------------- QM9 search
FORMULA = st.lists(st.tuples(st.sampled_from(["C", "H", "N", "O", "F", "S", "Xe", "Cl", "c", "h"]),
                             st.one_of(st.just(""), st.integers(0, 40).map(str))), min_size=1, max_size=5).map(
    lambda parts: "".join(s + n for s, n in parts))


@pytest.mark.parametrize("depth", DEPTHS)
def test_fuzz_search_qm9(depth, qm9, fuzz_record):
    query = st.one_of(st.text(max_size=30), FORMULA, st.integers(-5, 200_000).map(str), mutated_smiles(),
                      st.sampled_from(REAL_SMILES))

    def body(example):
        text, limit = example
        frame = search_qm9(qm9, text, limit=limit)
        assert len(frame) <= max(limit, 0) or limit < 0
        assert {"qm9_index", "formula", "smiles"} <= set(frame.columns)

    fuzz("search_qm9", depth, st.tuples(query, st.integers(-3, 60)), body, fuzz_record)


# ------------------------------------------------------------------------------- scans
@cache
def prebuilt(smiles: str) -> Molecule:
    return molecule_from_smiles(smiles)


BAD_FLOATS = st.sampled_from([math.nan, math.inf, -math.inf, 0.0, -0.0, -1.0, 1e300, -1e300, 1e-300])


def number(low: float, high: float):
    return st.one_of(st.floats(low, high, allow_nan=False), BAD_FLOATS)


@st.composite
def scan_molecule(draw):
    if draw(st.integers(0, 2)):
        return prebuilt(draw(st.sampled_from(["O=CO", "C=CC=O", "C#C", "[H][H]", "FC(F)F", "C[Se]C", "[Xe](F)F"])))
    n = draw(st.integers(1, 7))
    z = st.one_of(st.sampled_from([1, 6, 7, 8, 9]), st.integers(-2, 130))
    charges = draw(st.lists(z, min_size=n, max_size=n))
    coord = st.one_of(st.floats(-3, 3, allow_nan=False), BAD_FLOATS)
    coords = draw(st.lists(st.tuples(coord, coord, coord), min_size=n, max_size=n))
    return charges, coords


@st.composite
def scan_settings(draw):
    values = {}
    optional = {
        "atom": st.integers(-2, 9), "axis": st.sampled_from([*AXES, "sideways"]),
        "partner": st.one_of(st.none(), st.integers(-2, 9)),
        "custom_axis": st.tuples(number(-2, 2), number(-2, 2), number(-2, 2)),
        "d_min": number(-2, 0), "d_max": number(0, 2), "step": st.one_of(st.floats(0.005, 0.5), BAD_FLOATS),
        "n_train": st.integers(-1, 120), "n_train_large": st.integers(-1, 120), "seed": st.integers(-3, 2 ** 40),
        "models": st.lists(st.sampled_from([*MODELS, "l3"]), max_size=3, unique=True),
        "reference": st.sampled_from([*REFERENCES, "dft"]), "sigma": st.one_of(st.none(), number(1e-3, 1e4)),
        "lam": st.one_of(st.none(), number(0, 1)), "min_distance": number(0, 2),
    }
    good = {  # values inside the bounds, so that many examples reach the engine and the models
        "atom": st.integers(0, 3), "axis": st.sampled_from(AXES), "partner": st.integers(0, 3),
        "custom_axis": st.tuples(*[st.floats(-2, 2, allow_nan=False)] * 3), "d_min": st.floats(-1.5, -0.05),
        "d_max": st.floats(0.05, 1.5), "step": st.floats(0.01, 0.2), "n_train": st.integers(2, 15),
        "n_train_large": st.integers(2, 40), "seed": st.integers(0, 1000),
        "models": st.lists(st.sampled_from(MODELS), min_size=1, max_size=3, unique=True),
        "reference": st.sampled_from(REFERENCES), "sigma": st.one_of(st.none(), st.floats(1e-2, 1e3)),
        "lam": st.one_of(st.none(), st.floats(0, 1e-2)), "min_distance": st.floats(0, 0.8),
    }
    mostly_good = draw(st.booleans())
    for key, strategy in optional.items():
        if draw(st.booleans()):
            values[key] = draw(good[key] if mostly_good and draw(st.integers(0, 9)) else strategy)
    return values


def scan_or_user_error(example) -> None:
    source, values = example
    if isinstance(source, Molecule):
        mol = source
    else:
        try:
            mol = Molecule(np.array(source[0]), np.array(source[1], dtype=float), np.zeros((0, 2)), "fuzz", None,
                           "test")
        except MoleculeError as exc:
            return user_message(exc)
    try:
        settings_ = ScanSettings(**values)
    except ValueError as exc:  # param's bound and type checks: the CLI and the app catch ValueError
        return user_message(exc)
    try:
        result = ScanEngine(mol, settings_).result()
    except MoleculeError as exc:  # ScanError, ReferenceError: what the CLI turns into exit 2
        return user_message(exc)
    g = result.d.size
    assert result.valid.shape == result.reference.shape == (g,) and result.valid.any()
    assert np.isfinite(result.reference[result.valid]).all()
    assert all(v.shape == (g,) for v in result.models.values())
    assert result.valid[result.train_index].all() and np.isclose(np.linalg.norm(result.axis), 1)


@pytest.mark.parametrize("depth", DEPTHS)
def test_fuzz_scan_engine(depth, fuzz_record):
    fuzz("scan_engine", depth, st.tuples(scan_molecule(), scan_settings()), scan_or_user_error, fuzz_record)


# ------------------------------------------------------------------------------- command line
@pytest.mark.parametrize("depth", DEPTHS)
def test_fuzz_cli_list_parsers(depth, fuzz_record):
    from wqml_dash.cli.common import float_list, int_list, run_id_type, seed_list

    pieces = st.one_of(st.integers(-10, 10 ** 20).map(str), st.floats().map(str), st.sampled_from(TOKENS),
                       st.text(max_size=5))
    text = st.one_of(st.text(max_size=30), st.lists(pieces, max_size=6).map(",".join))

    def body(example):
        parser, value = example
        try:
            out = parser(value)
        except argparse.ArgumentTypeError as exc:
            return user_message(exc)
        if parser is run_id_type:
            assert isinstance(out, int) and 1 <= out < 2 ** 63
            return
        assert isinstance(out, list) and out
        if parser is float_list:
            assert all(math.isfinite(v) for v in out)
        else:
            assert all(isinstance(v, int) and v >= (1 if parser is int_list else 0) for v in out)

    parsers = st.sampled_from([int_list, seed_list, float_list, run_id_type])
    fuzz("cli_lists", depth, st.tuples(parsers, text), body, fuzz_record)


ERROR_LINE = re.compile(r"^wqml( [a-z-]+)*: error: \S")
NUMBER_TEXT = st.one_of(st.integers(-5, 300).map(str), st.floats(-3, 3).map(lambda v: f"{v:.3g}"),
                        st.sampled_from(["nan", "inf", "-inf", "1e999", "0", "-0", "abc", "", "1e300", "2.5"]))


@st.composite
def scan_argv(draw):
    argv = ["scan"]
    mostly_good = draw(st.booleans())
    sources = ["smiles", "example"] if mostly_good else ["smiles", "example", "file", "none", "two"]
    source = draw(st.sampled_from(sources))
    if mostly_good and source == "smiles":
        argv += ["--smiles", draw(st.sampled_from(["O=CO", "C=CC=O", "C#C", "CCO", "FC=O"]))]
    elif mostly_good:
        argv += ["--example", draw(st.sampled_from(["formic_acid", "butadiene", "ethylene_bond"]))]
    if source in ("smiles", "two") and not mostly_good:
        argv += ["--smiles", draw(st.one_of(st.sampled_from(["O=CO", "C#C", "[H][H]", "[Xe]", "CCO"]),
                                           mutated_smiles()))]
    if source in ("example", "two") and not mostly_good:
        argv += ["--example", draw(st.sampled_from(["formic_acid", "butadiene", "ethylene_bond", "nope"]))]
    if source == "file":
        argv += ["--file", draw(st.sampled_from(list(FUZZ_FILES)))]
    options = {
        "--atom": NUMBER_TEXT, "--axis": st.sampled_from([*AXES, "up"]), "--partner": NUMBER_TEXT,
        "--vector": st.lists(NUMBER_TEXT, max_size=4).map(",".join), "--step": NUMBER_TEXT,
        "--n-train": NUMBER_TEXT, "--n-train-large": NUMBER_TEXT, "--seed": NUMBER_TEXT,
        "--models": st.lists(st.sampled_from(["l1_sorted", "w1", "l2_sorted", "l3", ""]), max_size=3).map(",".join),
        "--reference": st.sampled_from([*REFERENCES, "dft"]), "--sigma": NUMBER_TEXT, "--lam": NUMBER_TEXT,
        "--min-distance": NUMBER_TEXT,
    }
    good = {"--atom": st.integers(0, 3).map(str), "--axis": st.sampled_from(AXES), "--partner": st.just("1"),
            "--vector": st.just("0,0.6,0.8"), "--step": st.sampled_from(["0.01", "0.05", "0.1"]),
            "--n-train": st.integers(2, 12).map(str), "--n-train-large": st.integers(2, 30).map(str),
            "--seed": st.integers(0, 99).map(str), "--models": st.sampled_from(["l1_sorted,w1", "w1", "l2_sorted"]),
            "--reference": st.sampled_from(REFERENCES), "--sigma": st.sampled_from(["0.5", "10"]),
            "--lam": st.sampled_from(["0", "1e-6"]), "--min-distance": st.sampled_from(["0.3", "0.5"])}
    if mostly_good and "--atom" not in argv and source != "example":
        argv += ["--atom", "0"]
    for flag, value in options.items():
        if draw(st.booleans()):
            argv += [flag, draw(good[flag] if mostly_good and draw(st.integers(0, 9)) else value)]
    if draw(st.booleans()):
        argv += ["--range", draw(NUMBER_TEXT), draw(NUMBER_TEXT)] if not mostly_good else ["--range", "-0.5", "0.8"]
    if "--models" not in argv:
        argv += ["--models", "l1_sorted,w1"]  # the default (all six) only costs time here
    if not mostly_good and draw(st.integers(0, 4)) == 0:  # now and then a stray token
        argv.insert(draw(st.integers(1, len(argv))), draw(st.sampled_from(["--", "-x", "--json", "extra", "-1"])))
    return argv


FUZZ_FILES: dict[str, bytes] = {}


@pytest.mark.parametrize("depth", DEPTHS)
def test_fuzz_cli_scan_argv(depth, tmp_path, fuzz_record):
    from wqml_dash.cli import main

    contents = {"water.xyz": b"3\nw\nO 0 0 0.117\nH 0 0.757 -0.467\nH 0 -0.757 -0.467\n", "empty.xyz": b"",
                "nan.xyz": b"2\n\nH nan 0 0\nH 0 0 0\n", "bin.pdb": bytes(range(256)), "x.txt": b"hello"}
    FUZZ_FILES.clear()
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
        FUZZ_FILES[str(tmp_path / name)] = data
    FUZZ_FILES[str(tmp_path / "missing.xyz")] = b""

    def body(argv):
        err, out = io.StringIO(), io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse
                code = exc.code
        text = err.getvalue()
        assert code in (0, 2), (argv, code, text)
        assert "Traceback" not in text, text
        if code == 2:
            lines = [line for line in text.splitlines() if line.strip()]
            assert lines and ERROR_LINE.match(lines[-1]), (argv, text)
            return "user_error"
        assert "swap points" in out.getvalue()
        return "valid"

    fuzz("cli_scan_argv", depth, scan_argv(), body, fuzz_record)


# ------------------------------------------------------------------------------- run settings
@pytest.mark.parametrize("depth", DEPTHS)
def test_fuzz_run_config(depth, fuzz_record):
    from wqml_dash.runs.config import RunConfig

    known = [k for k in RunConfig.param if k != "seed"]
    scalar = st.one_of(st.none(), st.booleans(), st.integers(-10, 10 ** 6), st.floats(), st.text(max_size=10),
                       st.sampled_from(["sorted:l1", "random:w1", "cm", "bob", "cpu", "auto", "local", "grid"]))
    value = st.one_of(scalar, st.lists(scalar, max_size=5), st.lists(st.integers(-5, 5000), min_size=1, max_size=5),
                      st.lists(st.sampled_from(["sorted:l1", "random:l2", "sorted:w1", "x:y"]), max_size=4))
    keys = st.sampled_from([*known, "seed", "bogus", ""])

    def body(d):
        try:
            config = RunConfig.from_dict(d)
        except ValueError as exc:
            return user_message(exc)
        again = RunConfig.from_dict(config.to_dict())
        assert again.to_dict() == config.to_dict()
        assert config.tasks() and all(n >= config.folds for n in config.sizes)

    base = {"series": ["sorted:l1", "sorted:w1"], "sizes": [50, 100], "n_test": 100, "folds": 3, "seeds": [0]}
    dropped = st.lists(st.sampled_from(list(base)), max_size=2)
    mutated = st.tuples(st.dictionaries(keys, value, max_size=2), dropped).map(
        lambda x: {k: v for k, v in {**base, **x[0]}.items() if k not in x[1]})
    fuzz("run_config", depth, st.one_of(st.dictionaries(keys, value, max_size=6), mutated), body, fuzz_record)


# ------------------------------------------------------------------------------- explorer links
@pytest.mark.parametrize("depth", DEPTHS)
def test_fuzz_explorer_url(depth, fuzz_record):
    from panel.io.location import Location

    from wqml_dash.ui.explorer.displacement_explorer import DisplacementExplorer
    from wqml_dash.ui.explorer.scan_state import URL_STATE

    values = st.one_of(st.text(max_size=12), NUMBER_TEXT, st.sampled_from(
        ["example", "smiles", "qm9", "file", "formic_acid", "C#C", "[H][H]", "[Xe]", "true", "x",
         "[1, 2]", "[0, 0, 0]", '["w1"]', '["l1_sorted", "w1", "l2_sorted"]', "[3, 50, 120]", "bond", "custom"]),
        st.lists(st.integers(-3, 300), max_size=4).map(json.dumps))
    query = st.dictionaries(st.sampled_from([*URL_STATE, "other"]), values, max_size=6)

    def body(params):
        explorer = DisplacementExplorer()
        explorer.start(Location(search="?" + urllib.parse.urlencode(params)))
        st_ = explorer.state
        assert st_.molecule is not None
        assert st_.result is not None or st_.error, params
        if st_.error:
            assert explorer.alert.visible and not any(s in st_.error for s in INTERNALS), st_.error
            return "user_error"
        return "valid"

    fuzz("explorer_url", depth, query, body, fuzz_record)
