"""Nothing a user types reaches eval, pickle, a shell or a file path; SQL is parameterised; uploads
stay in memory. Static checks over the package's source plus behavioural checks of the same."""

from __future__ import annotations

import ast
import builtins
import io
import os
from pathlib import Path

import numpy as np
import pytest
from rdkit import Chem

from wqml_dash.core.scan.molecule_files import molecule_from_file
from wqml_dash.core.scan.molecule import molecule_from_smiles
from wqml_dash.runs.config import RunConfig
from wqml_dash.runs.store import RunStore

PKG = Path(__file__).resolve().parents[1] / "wqml_dash"
SOURCES = sorted(PKG.rglob("*.py"))

#: Calls that run text as code, deserialise objects or start a shell.
FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "os.system", "os.popen", "pickle.load", "pickle.loads",
                   "marshal.loads", "shelve.open", "yaml.load", "np.load", "numpy.load"}
FORBIDDEN_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle"}
#: Where np.load may appear: the QM9 cache reader and the shipped reference predictions' reader, which
#: pass allow_pickle=False (checked below).
NP_LOAD_ALLOWED = {"core/data/qm9.py", "runs/reference.py", "core/learn/model_io.py"}
#: Names an f-string in SQL may interpolate: built in store.py from constants and "?" placeholders only.
SQL_FSTRING_NAMES = {"cols", "where", "SCHEMA_VERSION"}


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            yield node, _name(node.func)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_code_execution_deserialisation_or_shell(path):
    rel = str(path.relative_to(PKG))
    tree = ast.parse(path.read_text(), str(path))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not imported & FORBIDDEN_MODULES, f"{rel} imports {imported & FORBIDDEN_MODULES}"
    for call, name in _calls(path):
        if name in ("np.load", "numpy.load") and rel in NP_LOAD_ALLOWED:
            flags = {k.arg: k.value for k in call.keywords}
            assert isinstance(flags.get("allow_pickle"), ast.Constant) and flags["allow_pickle"].value is False
            continue
        assert name not in FORBIDDEN_CALLS, f"{rel}:{call.lineno} calls {name}"
        if name.startswith("subprocess.") or name in ("Popen", "run", "check_output", "call"):
            shell = {k.arg: k.value for k in call.keywords}.get("shell")
            assert shell is None or (isinstance(shell, ast.Constant) and shell.value is False), \
                f"{rel}:{call.lineno} starts a shell"


@pytest.mark.parametrize("path", [p for p in SOURCES if "sqlite3" in p.read_text()], ids=lambda p: p.name)
def test_sql_is_literal_or_built_from_constants(path):
    """Every ``execute`` in a module that talks to SQLite (Panel's ``state.execute`` elsewhere is not SQL)."""
    for call, name in _calls(path):
        if not name.endswith((".execute", ".executemany", ".executescript")) or not call.args:
            continue
        sql = call.args[0]
        where = f"{path.relative_to(PKG)}:{call.lineno}"
        if isinstance(sql, ast.JoinedStr):
            names = {_name(v.value) for v in sql.values if isinstance(v, ast.FormattedValue)}
            assert names <= SQL_FSTRING_NAMES, f"{where} interpolates {names - SQL_FSTRING_NAMES} into SQL"
        else:
            assert isinstance(sql, ast.Constant | ast.Name), f"{where}: SQL is not a literal"


def test_the_ui_writes_no_files():
    """Uploads are parsed from bytes in memory; downloads are built in memory (no file I/O in ui/)."""
    for path in sorted((PKG / "ui").glob("*.py")):
        for call, name in _calls(path):
            assert name not in ("open", "tempfile.mkstemp", "tempfile.NamedTemporaryFile", "os.remove",
                                "os.makedirs", "shutil.copy", "shutil.move") \
                and not name.endswith((".write_text", ".write_bytes", ".mkdir", ".unlink")), \
                f"{path.name}:{call.lineno} calls {name}"


HOSTILE = ["'); DROP TABLE runs; --", "\" OR 1=1 --", "Robert'); DELETE FROM points;--", "%s %d {0} ${x}",
           "../../etc/passwd", "\x00\x1b[31mred", "名前 🧪", "a" * 2000]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_run_names_round_trip_and_harm_nothing(tmp_path, text):
    store = RunStore(tmp_path / "runs.sqlite")
    config = RunConfig.from_dict(dict(series=["sorted:l1"], sizes=[20], n_test=50, folds=2, seeds=[0], name=text))
    other = store.create_run(RunConfig.from_dict(dict(series=["sorted:w1"], sizes=[20], n_test=50, folds=2,
                                                      seeds=[0], name="other")))
    run_id = store.create_run(config)
    store.rename_run(run_id, text + "!")
    assert store.get_run(run_id)["name"] == text + "!"
    assert store.get_run(other)["name"] == "other"
    assert sorted(store.list_runs()["id"]) == sorted([run_id, other])
    assert store.points([run_id]).empty


def test_uploads_are_parsed_without_touching_the_file_system(monkeypatch):
    """Every upload format parses with `open` and os.open unavailable, whatever the file's name."""
    mol = molecule_from_smiles("CCO")
    files = {"../../../tmp/evil.xyz": mol.to_xyz().encode(),
             "/etc/cron.d/x.sdf": Chem.MolToMolBlock(mol.to_rdkit()).encode(),
             "C:\\Windows\\x.pdb": Chem.MolToPDBBlock(mol.to_rdkit()).encode()}

    def no_files(*args, **kwargs):
        raise AssertionError(f"file system touched: {args[:1]}")

    monkeypatch.setattr(builtins, "open", no_files)
    monkeypatch.setattr(io, "open", no_files)
    monkeypatch.setattr(os, "open", no_files)
    for name, data in files.items():
        parsed = molecule_from_file(data, name)
        assert parsed.charges.size == mol.charges.size and np.array_equal(np.sort(parsed.charges), np.sort(mol.charges))
