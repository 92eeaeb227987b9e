"""Imports point one way: ui -> runs -> core; core never imports a UI library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "wqml_dash"
UI_LIBRARIES = {"panel", "holoviews", "bokeh"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(("." * node.level) + (node.module or ""))
    return names


@pytest.mark.parametrize("path", sorted((PKG / "core").rglob("*.py")), ids=lambda p: p.name)
def test_core_is_ui_free(path):
    bad = {n for n in _imports(path) if n.split(".")[0] in UI_LIBRARIES
           or n.startswith("..ui") or n.startswith("..runs") or n.startswith("wqml_dash.ui")}
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", sorted((PKG / "runs").rglob("*.py")), ids=lambda p: p.name)
def test_runs_is_ui_free(path):
    bad = {n for n in _imports(path) if n.split(".")[0] in UI_LIBRARIES or n.startswith("..ui")}
    assert not bad, f"{path.name} imports {bad}"
