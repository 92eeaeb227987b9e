"""Server-side latency of the displacement explorer: slider moves and new training sets.

    python benchmarks/slider_latency.py [--moves 100] [--example KEY] [--json PATH]

The tab is built as in a served session (its Bokeh models in a Document, the URL synced to a
`Location`); then the time from setting the slider's value to the end of every watcher (plot
marker, 3D view, sorted CM, CDFs, readouts, URL) is measured, and separately the time to turn the
resulting document changes into the PATCH-DOC message the server would send (with its size).
"New training set" (a new seed: refit every model, redraw the curves) and a new atom (new
geometries, reference energies and CMs: a new `ScanEngine`) are timed the same way.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import numpy as np
import panel as pn
from bokeh.document import Document
from bokeh.protocol import Protocol
from panel.io.location import Location

from wqml_dash.ui.explorer.displacement_explorer import DisplacementExplorer


class _Recorder:
    """Collects a document's change events; `flush` serialises them like the Bokeh server does."""

    def __init__(self, doc: Document):
        self.events: list = []
        self.protocol = Protocol()
        doc.on_change(self.events.append)

    def flush(self) -> int:
        if not self.events:
            return 0
        msg = self.protocol.create("PATCH-DOC", list(self.events))
        size = len(msg.header_json) + len(msg.content_json) + sum(len(b.data) for b in msg.buffers)
        self.events.clear()  # the document holds this list's append
        return size


def _timed(action, recorder: _Recorder) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    action()
    t1 = time.perf_counter()
    size = recorder.flush()
    return (t1 - t0) * 1e3, (time.perf_counter() - t1) * 1e3, size


def _summary(values: list[float]) -> dict:
    a = np.asarray(values)
    return {"median": float(np.median(a)), "p95": float(np.percentile(a, 95)), "max": float(a.max()), "n": a.size}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--moves", type=int, default=100)
    p.add_argument("--retrains", type=int, default=30)
    p.add_argument("--example", default=None, help="teaching example key (default: the app's default)")
    p.add_argument("--json")
    a = p.parse_args()

    pn.extension()
    explorer = DisplacementExplorer()
    doc = Document()
    doc.add_root(pn.panel(explorer).get_root(doc))
    explorer.start(Location())
    if a.example:
        explorer.state.choose("example", a.example)
    recorder = _Recorder(doc)
    st = explorer.state
    grid = st.result.d
    rng = np.random.default_rng(0)

    for v in grid[:5]:  # warm up
        explorer.slider.value = float(v)
    recorder.flush()

    # Half the moves are jumps to random grid points, half neighbour steps (what a drag sends).
    start = int(rng.integers(grid.size))
    steps = [grid[(start + k) % grid.size] for k in range(a.moves // 2)]
    jumps = rng.choice(grid, a.moves - len(steps))
    watchers, serialise, sizes = [], [], []
    for v in [*steps, *jumps]:
        w, s, n = _timed(lambda v=v: setattr(explorer.slider, "value", float(v)), recorder)
        watchers.append(w)
        serialise.append(s)
        sizes.append(n)

    retrain_w, retrain_s, retrain_n = [], [], []
    for _ in range(a.retrains):
        w, s, n = _timed(st.new_training_set, recorder)
        retrain_w.append(w)
        retrain_s.append(s)
        retrain_n.append(n)

    atoms = list(range(len(st.molecule)))
    rebuild_w = []
    for atom in atoms[: min(10, len(atoms))]:
        w, s, _ = _timed(lambda atom=atom: setattr(st.settings, "atom", atom), recorder)
        rebuild_w.append(w + s)

    result = {
        "example": st.key, "atoms": len(st.molecule), "grid_points": int(grid.size),
        "slider_move_ms": _summary(watchers),
        "slider_move_serialise_ms": _summary(serialise),
        "slider_move_total_ms": _summary([w + s for w, s in zip(watchers, serialise, strict=True)]),
        "slider_move_message_bytes": _summary(sizes),
        "new_training_set_ms": _summary(retrain_w),
        "new_training_set_total_ms": _summary([w + s for w, s in zip(retrain_w, retrain_s, strict=True)]),
        "new_training_set_message_bytes": _summary(retrain_n),
        "new_atom_total_ms": _summary(rebuild_w),
        "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
    }
    m, t, r = result["slider_move_ms"], result["slider_move_total_ms"], result["new_training_set_total_ms"]
    print(f"{st.key} ({len(st.molecule)} atoms, {grid.size} grid points)")
    print(f"slider move, watchers: median {m['median']:.1f} ms, p95 {m['p95']:.1f} ms (n={m['n']})")
    print(f"slider move, watchers + PATCH-DOC serialisation: median {t['median']:.1f} ms, p95 {t['p95']:.1f} ms; "
          f"message median {statistics.median(sizes) / 1024:.1f} KiB")
    print(f"new training set (refit + redraw + serialise): median {r['median']:.1f} ms, p95 {r['p95']:.1f} ms")
    print(f"new atom (new ScanEngine + redraw + serialise): median {result['new_atom_total_ms']['median']:.1f} ms")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
