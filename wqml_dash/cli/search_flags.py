"""How the CLI's tables mark a hyperparameter optimum at the edge of the searched range.

A point's ``at_edge`` (`core.learn.results.CurvePoint.at_edge`, the store's ``at_edge`` column) names
the edges its (sigma, lambda) sits on; the tables put '*' beside that sigma or lambda and end with one
footnote naming the flags they show.
"""

from __future__ import annotations

from ..core.learn.cv import EDGE_MEANINGS

#: The footnote's first line.
NOTE = "* optimum at the edge of the searched range, where the CV error was still falling"


def _flags(at_edge) -> list[str]:
    return [f for f in str(at_edge).split(",") if f] if isinstance(at_edge, str) else []


def edge_marks(at_edge) -> tuple[str, str]:
    """('*' or ' ' beside sigma, '*' or ' ' beside lambda) for one point's ``at_edge`` ('' / None /
    NaN: neither)."""
    flags = _flags(at_edge)
    return ("*" if any(f.startswith("sigma") for f in flags) else " ",
            "*" if any(f.startswith("lambda") for f in flags) else " ")


def format_factor(factor) -> str:
    """Sigma / median distance for a table: exact for the grid's powers of two; '' when not recorded."""
    return "" if factor is None or factor != factor else f"{factor:.6g}"


def edge_note(at_edges) -> list[str]:
    """The footnote lines for a table whose points have these ``at_edge`` values: none if no point
    is on an edge."""
    seen = list(dict.fromkeys(f for a in at_edges for f in _flags(a)))
    if not seen:
        return []
    meanings = "; ".join(f"{f}: {EDGE_MEANINGS.get(f, f)}" for f in seen)
    return [NOTE, f"  ({meanings}); each point's CV table is in --json and the run store"]
