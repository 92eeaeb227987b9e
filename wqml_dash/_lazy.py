"""Lazy re-exports for the packages' ``__init__`` (PEP 562): ``from wqml_dash.core import KernelRidge``
works, and importing one submodule does not import the whole package (RDKit, param, pandas)."""

from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str]):
    """``__getattr__`` and ``__dir__`` for a package that re-exports ``exports`` (name -> submodule,
    relative to ``package``), each imported on first use."""

    def __getattr__(name: str):
        if name in exports:
            return getattr(importlib.import_module(exports[name], package), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(exports)

    return __getattr__, __dir__
