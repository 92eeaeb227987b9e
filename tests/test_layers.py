"""The house's rules: imports point one way (ui -> runs -> core; core never imports a UI library),
no module imports itself back through others (no import circle), every folder says what lives in it,
and modules stay small enough to read."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "wqml_dash"
UI_LIBRARIES = {"panel", "holoviews", "bokeh"}
#: Modules allowed past `MAX_LINES`, each with the reason.
LONG_MODULES: dict[str, str] = {
    "wqml_dash.ui.curves.learning_curves_tab": (
        "one Viewer: the runs list, the curves and the point detail share one selection (run, series, size, "
        "seed) and one poll loop; its exports, summaries and plots already live in runs/ and curves/"),
}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Absolute names of what ``path`` imports (relative imports resolved; ``from X import y`` gives
    both ``X`` and ``X.y``, since y may be a module)."""
    here = _module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            names.add(module)
            names |= {f"{module}.{a.name}" for a in node.names}
    return names


def _modules():
    return sorted(PKG.rglob("*.py"))


@pytest.mark.parametrize("path", sorted((PKG / "core").rglob("*.py")), ids=lambda p: _module_name(p))
def test_core_is_ui_free(path):
    bad = {n for n in _imports(path) if n.split(".")[0] in UI_LIBRARIES
           or n.startswith(("wqml_dash.ui", "wqml_dash.runs", "wqml_dash.cli"))}
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", sorted((PKG / "runs").rglob("*.py")), ids=lambda p: _module_name(p))
def test_runs_is_ui_free(path):
    bad = {n for n in _imports(path) if n.split(".")[0] in UI_LIBRARIES or n.startswith(("wqml_dash.ui",
                                                                                          "wqml_dash.cli"))}
    assert not bad, f"{path.name} imports {bad}"


def test_ui_holds_no_science_libraries():
    """Science lives in core: the UI may use numpy to pass arrays on, never scipy or numba."""
    for path in (PKG / "ui").rglob("*.py"):
        bad = {n for n in _imports(path) if n.split(".")[0] in {"scipy", "numba", "rdkit", "torch"}}
        assert not bad, f"{path.relative_to(PKG)} imports {bad}"


def test_no_import_circle():
    """No chain of imports leads from a module back to itself (imports inside functions count too:
    a lazy import hides a circle from Python, not from the reader)."""
    names = {_module_name(p): p for p in _modules()}
    graph = {}
    for name, path in names.items():
        targets = set()
        for imported in _imports(path):
            if imported in names and imported != name:
                targets.add(imported)
        graph[name] = targets
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt):] + [nxt]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_every_folder_says_what_lives_in_it():
    for init in PKG.rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and len(doc.split()) >= 6 and "TODO" not in doc, f"{init.relative_to(PKG)} needs a docstring"


def test_modules_stay_small():
    long = {}
    for path in _modules():
        name = _module_name(path)
        lines = len(path.read_text().splitlines())
        if lines > MAX_LINES and name not in LONG_MODULES:
            long[name] = lines
    assert not long, f"modules over {MAX_LINES} lines (split them or give the reason in LONG_MODULES): {long}"
