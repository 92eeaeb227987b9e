"""A 3D ball-and-stick view of a molecule, drawn by the browser on a canvas (no library, no CDN).

Drag rotates, the wheel zooms, clicking an atom sets `highlight` (the atom that moves). The
camera stays where the user left it while `coords` change; a new `scene` number resets it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import param
from panel.custom import JSComponent


def _points(array) -> list[list[float]]:
    return np.round(np.asarray(array, dtype=float), 4).tolist()


class MoleculeView(JSComponent):
    """Ball-and-stick molecule with one highlighted atom and a scan axis arrow.

    Parameters are plain lists so they travel as JSON; use :meth:`show` to set a molecule.
    """

    symbols = param.List(default=[], item_type=str, doc="Element symbol per atom, (n,)")
    coords = param.List(default=[], doc="Atom positions shown now, (n, 3) Angstrom")
    frame_coords = param.List(default=[], doc="Undisplaced positions, (n, 3): fix the view's centre and size")
    bonds = param.List(default=[], doc="Bonded atom index pairs, (m, 2)")
    highlight = param.Integer(default=None, allow_None=True,
                              doc="The moving atom; set by the browser when the user clicks an atom")
    axis_start = param.List(default=[], doc="Scan axis arrow tail, (3,) Angstrom; [] for none")
    axis_end = param.List(default=[], doc="Scan axis arrow head, (3,) Angstrom")
    invalid = param.Boolean(default=False, doc="Draw the moving atom's ring in red (atoms collide)")
    show_labels = param.Boolean(default=True, doc="Symbol and index on each atom")
    scene = param.Integer(default=0, doc="Increment to reset the camera (a new molecule or axis)")

    _esm = Path(__file__).with_name("molecule_view.js")

    _stylesheets = ["""
    :host { display: block; }
    .wqml-mol { position: relative; width: 100%; height: 100%; }
    .wqml-mol canvas { display: block; outline: none; border-radius: 6px;
      background: radial-gradient(circle at 50% 40%, #ffffff 0%, #eef2f7 100%); touch-action: none; }
    .wqml-mol canvas:focus-visible { box-shadow: 0 0 0 3px #f28e00; }
    .wqml-mol-hint { position: absolute; left: 8px; bottom: 6px; font-size: 12px; color: #5a6270;
      pointer-events: none; }
    .wqml-mol-reset { position: absolute; right: 8px; top: 8px; font-size: 12px; padding: 2px 8px;
      border: 1px solid #c5ccd6; border-radius: 4px; background: #ffffffcc; cursor: pointer; }
    """]

    def show(self, symbols, coords, bonds, highlight: int | None = None, axis_start=None, axis_end=None,
             new_scene: bool = True) -> None:
        """Show a molecule: symbols (n,), coords (n, 3) Angstrom, bonds (m, 2); one batched update."""
        start = [] if axis_start is None else _points(axis_start)
        end = [] if axis_end is None else _points(axis_end)
        pts = _points(coords)
        self.param.update(
            symbols=list(symbols), coords=pts, frame_coords=pts,
            bonds=np.asarray(bonds, dtype=int).reshape(-1, 2).tolist(), highlight=highlight,
            axis_start=start, axis_end=end, invalid=False,
            scene=self.scene + 1 if new_scene else self.scene)

    def move(self, coords, invalid: bool = False) -> None:
        """New positions for the same atoms, (n, 3) Angstrom; the camera stays."""
        self.param.update(coords=_points(coords), invalid=invalid)
