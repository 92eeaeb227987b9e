"""The readouts under the energy plot at one displacement: d, the CM distances to d = 0, and each
curve's energy, error and jump ratio (kcal/mol), as HTML for one Bokeh Div."""

from __future__ import annotations

import numpy as np

from .scan_plots import LABELS, STYLE
from .texts import JUMP_RATIO_TIP


def fmt(value: float, digits: int = 2, signed: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"


def readout_html(frame, result, training_note: str) -> str:
    """The readouts of ``frame`` (a `scan_state.Frame`) of ``result`` (a `ScanResult`).

    ``training_note`` says where the training points came from, e.g. 'drawn with seed 0'.
    """
    rows = [("reference", frame.reference, None, 1.0)]
    for key, value in frame.predictions.items():
        rows.append((key, value, value - frame.reference, result.jump_ratio.get(key)))
    body = "".join(
        f"<tr><td><span class='sw' style='background:{STYLE[k]['color']}'></span>{LABELS.get(k, k)}</td>"
        f"<td>{fmt(v)}</td><td>{fmt(err, signed=True) if err is not None else ''}</td>"
        f"<td>{fmt(jr, 1) if k != 'reference' else '1'}</td></tr>"
        for k, v, err, jr in rows)
    where = "" if frame.valid else " <b class='bad'>atoms collide here: left out</b>"
    return (f"<div class='wqml-d'>d = <b>{frame.d:+.2f} Å</b>{where} · CM distance to d = 0: "
            f"<b>W1 {fmt(frame.w1, 4)}</b>, L1 sorted {fmt(frame.l1_sorted, 2)}</div>"
            f"<div class='wqml-train'>{len(result.train_index)} training points, {training_note}</div>"
            "<table><thead><tr><th>Curve</th><th>E at d (kcal/mol)</th><th>Error</th>"
            f"<th title='{JUMP_RATIO_TIP}'>Jump ratio</th>"
            f"</tr></thead><tbody>{body}</tbody></table>")
