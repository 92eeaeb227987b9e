"""The explorer's slider, Play and link, run by the browser.

Everything the explorer shows at a displacement d (the 3D geometry, the plot's marker, the
readouts, the sorted CM, the CDFs of its entries) is a function of the grid index, and the grid is
finite. When a scan (or its models) changes, the server packs every grid point's values once
(`pack_frames`) into three ``ColumnDataSource`` objects; from then on the slider, Play and the
address bar's ``d`` are handled by JavaScript in the page (`PLAYER_JS`) with no server round trip.
The page's own changes are applied with ``sync: false``: the server neither hears about every frame
nor sends anything back; it learns the final d when a drag ends or Play pauses (``value_throttled``).

A scan whose frames would exceed `FRAME_LIMIT_BYTES` (very large molecules) is not packed: the
explorer then falls back to updating the views from the server, as before, and says so.

No science here: the numbers come from `ExplorerState.frame` and the engine (core).
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping

import numpy as np
from bokeh.models import ColumnDataSource

#: Largest packed scan sent to the browser, bytes (the binary arrays; about 460 kB for a 29-atom QM9
#: molecule at 201 points, 4 MB for 95 atoms). Larger scans use the server path.
FRAME_LIMIT_BYTES = 4_000_000
#: Play's speeds, grid steps per second (the first is the default).
SPEEDS = {"16 steps/s": 16, "4 steps/s": 4, "8 steps/s": 8, "32 steps/s": 32}


def frame_bytes(n_atoms: int, n_grid: int, n_series: int) -> int:
    """Bytes of a packed scan: per grid point n x (3 coordinates + order) float32/int32, the upper
    triangle of the sorted CM (float32), and about 2 x n_series + 6 float64 scalars."""
    m = n_atoms * (n_atoms + 1) // 2
    return n_grid * (4 * (4 * n_atoms + m) + 8 * (2 * n_series + 6))


def pack_frames(state, to_x, to_e) -> dict[str, dict[str, np.ndarray]]:
    """Every grid point's view values, as column dicts for the player's data sources.

    Parameters
    ----------
    state : an `ExplorerState` with a result
    to_x, to_e : display transforms of d and energies (`display_transform`)

    Returns
    -------
    {"grid": (g,) columns d, x, valid, shown, w1, l1, e_<series>, y_<series>;
     "atoms": (g * n,) columns px, py, pz (Angstrom, float32), order (int32: atom of each sorted row);
     "cm": (g * m,) column value: the upper triangle (row-major, with the diagonal) of the sorted CM}
    Grid point i's atoms are rows i*n ... i*n + n - 1. ``shown`` is the grid index whose CM is shown at
    i: i itself, or the nearest valid point where atoms collide (its CM entries are zeros then).
    """
    result, engine = state.result, state.engine
    g, n = result.d.size, len(state.molecule)
    iu = np.triu_indices(n)
    valid = np.asarray(result.valid, dtype=bool)
    good = np.flatnonzero(valid)
    shown = good[np.abs(result.d[good][None, :] - result.d[:, None]).argmin(axis=1)]
    order = np.zeros((g, n), dtype=np.int32)
    cm = np.zeros((g, iu[0].size), dtype=np.float32)
    for i in good:
        frame = state.frame(float(result.d[i]))
        order[i] = frame.order
        cm[i] = frame.cm[iu]
    coords = np.asarray(engine.geometries, dtype=np.float32).reshape(-1, 3)
    zero = state._to_zero  # noqa: SLF001 (the state's distances to d = 0, computed once per scan)
    nan = np.full(g, np.nan)
    grid = {"d": np.asarray(result.d, dtype=float), "x": np.asarray(to_x(result.d), dtype=float),
            "valid": valid.astype(np.int8), "shown": shown.astype(np.int32),
            "w1": np.asarray(zero.get("w1", nan), dtype=float), "l1": np.asarray(zero.get("l1", nan), dtype=float)}
    for key, values in {"reference": result.reference, **result.models}.items():
        grid[f"e_{key}"] = np.asarray(values, dtype=float)
        grid[f"y_{key}"] = np.asarray(to_e(values), dtype=float)
    return {"grid": grid,
            "atoms": {"px": coords[:, 0], "py": coords[:, 1], "pz": coords[:, 2], "order": order.ravel()},
            "cm": {"value": cm.ravel()}}


_PACKED: OrderedDict = OrderedDict()  # (id(result), normalize) -> (weakref to result, frames)
_PACKED_LOCK = threading.Lock()  # (a link that waited for QM9 draws its first scan from the loading thread)


def shared_frames(result, normalize: bool, pack: Callable[[], dict]) -> dict:
    """``pack()``'s frames, packed once per result object: sessions that share a scan result (see
    `SharedScans`) share its frames too (read-only arrays)."""
    shared = getattr(result, "shared_key", None)
    key = (shared if shared is not None else id(result), bool(normalize))
    with _PACKED_LOCK:
        hit = _PACKED.get(key)
        if hit is not None and (shared is not None or hit[0]() is result):
            _PACKED.move_to_end(key)
            return hit[1]
    frames = pack()
    with _PACKED_LOCK:
        _PACKED[key] = (weakref.ref(result), frames)
        while len(_PACKED) > 16:
            _PACKED.popitem(last=False)
    return frames


def packed_size(frames: Mapping[str, Mapping[str, np.ndarray]]) -> int:
    """Bytes of the arrays in ``frames`` (what goes over the websocket, binary)."""
    return int(sum(np.asarray(a).nbytes for cols in frames.values() for a in cols.values()))


class FramePlayer:
    """The data sources the page plays from, and the scan-level facts it needs (``meta``).

    ``meta`` holds one JSON text: the symbols, moving atom, shown series with their labels, colours
    and jump ratios, the training-set line, the CM entries at d = 0, the link's other keys, and
    ``client`` (false: the server updates the views, the page only writes the link).
    """

    def __init__(self):
        self.grid = ColumnDataSource({"d": []})
        self.atoms = ColumnDataSource({"px": []})
        self.cm = ColumnDataSource({"value": []})
        self.meta = ColumnDataSource({"json": ["{}"]})
        self.client = False
        self.size = 0

    def set_frames(self, frames: dict | None, meta: dict) -> None:
        """New frames (None: the server path) and scan facts; the page redraws once both arrived."""
        self.client = frames is not None
        if frames is not None:
            self.size = packed_size(frames)
            self.grid.data = dict(frames["grid"])
            self.atoms.data = dict(frames["atoms"])
            self.cm.data = dict(frames["cm"])
        elif len(self.grid.data.get("d", [])):
            self.size = 0
            self.grid.data, self.atoms.data, self.cm.data = {"d": []}, {"px": []}, {"value": []}
        self.meta.data = {"json": [json.dumps({**meta, "client": self.client}, allow_nan=False)]}

    def set_link(self, meta_update: dict) -> None:
        """Change scan facts without new frames (the link's keys)."""
        meta = json.loads(self.meta.data["json"][0])
        meta.update(meta_update)
        self.meta.data = {"json": [json.dumps(meta, allow_nan=False)]}


#: The browser side, run as a Bokeh CustomJS body with the arguments `PlayerLinks.args` names. Called
#: on a slider move (``cb_obj`` the slider), on Play/Pause (``cb_obj`` the toggle), and when new
#: frames arrive (``cb_obj`` the meta source). Draws at most once per animation frame.
PLAYER_JS = r"""
const P = meta._wqml || (meta._wqml = {raf: null, play: null, url: null, src: null, M: null})
function M_() {
  const src = meta.data.json[0]
  if (P.src !== src) { P.src = src; P.M = JSON.parse(src) }
  return P.M
}
const quiet = {sync: false}
function fmt(v, digits, signed) {
  if (v == null || !isFinite(v)) return "\u2013"
  const s = Math.abs(v).toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits})
  return (v < 0 ? "-" : signed ? "+" : "") + s
}
function fixed(v, digits) { return (v < 0 ? "-" : "+") + Math.abs(v).toFixed(digits) }
function nearest(d) {
  const D = grid.data.d
  let best = 0
  for (let k = 1; k < D.length; k++) if (Math.abs(D[k] - d) < Math.abs(D[best] - d)) best = k
  return best
}
function write_link() {
  const M = M_()
  if (!M.query) return
  clearTimeout(P.url)
  P.url = setTimeout(() => {
    const v = Math.round(slider.value * 1e9) / 1e9
    const parts = [...M.query[0], "d=" + encodeURIComponent(String(v)), ...M.query[1]]
    const search = "?" + parts.join("&")
    if (window.location.search !== search)
      window.history.replaceState(window.history.state, "", search + window.location.hash)
  }, 120)
}
function readout(M, i, G) {
  const valid = G.valid[i] === 1
  const rows = [["reference", G["e_reference"][i], null, 1]]
  for (const k of M.models) rows.push([k, G["e_" + k][i], G["e_" + k][i] - G["e_reference"][i], M.jump[k]])
  const body = rows.map(([k, v, err, jr]) =>
    `<tr><td><span class='sw' style='background:${M.color[k]}'></span>${M.label[k]}</td>` +
    `<td>${fmt(v, 2)}</td><td>${err === null ? "" : fmt(err, 2, true)}</td>` +
    `<td>${k === "reference" ? "1" : fmt(jr, 1)}</td></tr>`).join("")
  const where = valid ? "" : " <b class='bad'>atoms collide here: left out</b>"
  return `<div class='wqml-d'>d = <b>${fixed(G.d[i], 2)} \u00c5</b>${where} \u00b7 CM distance to d = 0: ` +
    `<b>W1 ${fmt(G.w1[i], 4)}</b>, L1 sorted ${fmt(G.l1[i], 2)}</div>` +
    `<div class='wqml-train'>${M.train_text}</div>` +
    "<table><thead><tr><th>Curve</th><th>E at d (kcal/mol)</th><th>Error</th>" +
    "<th title='largest step between neighbouring grid points over the change around it (the curve&#39;s " +
    "steps on either side, the reference&#39;s step there): about 1 smooth, above 3 a jump'>Jump ratio</th>" +
    `</tr></thead><tbody>${body}</tbody></table>`
}
function draw() {
  P.raf = null
  const M = M_()
  write_link()
  const G = grid.data
  if (!M.client || !G.d || !G.d.length || G.d.length !== M.g) return
  const i = nearest(slider.value), n = M.n, m = n * (n + 1) / 2, valid = G.valid[i] === 1
  // the plot: the d line and a marker per series
  d_line.setv({location: G.x[i]}, quiet)
  const keys = ["reference", ...M.models].filter(k => isFinite(G["y_" + k][i]))
  marker.setv({data: {x: keys.map(() => G.x[i]), y: keys.map(k => G["y_" + k][i]),
                      color: keys.map(k => M.color[k]), series: keys.map(k => M.label[k])}}, quiet)
  // the 3D view
  const A = atoms.data, pts = []
  for (let a = 0; a < n; a++) { const r = i * n + a; pts.push([A.px[r], A.py[r], A.pz[r]]) }
  view.data.setv({coords: pts, invalid: !valid}, quiet)
  // the sorted CM (the nearest valid geometry's where atoms collide), drawn by cm_views.js
  const s = G.shown[i], order = Array.from(A.order.slice(s * n, s * n + n))
  const V = cm.data.value, entries = new Float64Array(m)  // (a Bokeh ndarray's subarray is not a view)
  for (let t = 0; t < m; t++) entries[t] = V[s * m + t]
  heat.data.setv({values: Array.from(entries), labels: order.map(j => M.symbols[j] + j),
                  moving: order.indexOf(M.atom),
                  title: valid ? `Sorted CM at d = ${fixed(G.d[i], 2)} \u00c5`
                               : `Sorted CM at ${fixed(G.d[s], 2)} \u00c5 (nearest valid)`}, quiet)
  // the CDFs of the CM entries at d and at 0; the area between them is W1
  if (M.zero) {
    entries.sort()
    cdf.data.setv({now: Array.from(entries), zero: M.zero,
                   title: valid ? `W1 = ${G.w1[s].toFixed(4)} (shaded area)`
                                : `W1 = ${G.w1[s].toFixed(4)} (d = ${fixed(G.d[s], 2)} \u00c5)`}, quiet)
  }
  set_html(readouts, readout(M, i, G))
  P.drawn = i
}
function set_html(div, html) {
  // A Div's text change re-renders it and re-lays out the whole page (about 100-200 ms here): write
  // its element instead, and keep the model's text in step without a change event.
  let v = P.div_view
  if (!v || v.model !== div || !v.markup_el || !v.markup_el.isConnected) {
    v = P.div_view = window.Bokeh && Bokeh.index && Bokeh.index.find_one ? Bokeh.index.find_one(div) : null
  }
  if (v && v.markup_el) { div.setv({text: html}, {silent: true}); v.markup_el.innerHTML = html }
  else div.setv({text: html}, quiet)
}
function schedule() { if (P.raf === null) P.raf = requestAnimationFrame(draw) }
function stop_play() {
  if (P.play !== null) { cancelAnimationFrame(P.play); P.play = null }
}
function play() {
  // A steady rate from the clock: a slow page skips grid points instead of queueing them.
  const G = grid.data, g = G.d.length, period = 2 * (g - 1)
  if (g < 2) return
  const i0 = nearest(slider.value)
  const start = P.dir < 0 ? period - i0 : i0
  let t0 = null, last = i0
  function step(now) {
    if (!toggle.active) { P.play = null; return }
    if (t0 === null) t0 = now
    const rate = Number(speed.value.split(" ")[0]) || 16
    let u = (start + Math.floor((now - t0) / 1000 * rate)) % period
    const i = u <= g - 1 ? u : period - u
    if (i !== last) {
      P.dir = u < g - 1 ? 1 : -1
      last = i
      slider.setv({value: G.d[i]}, quiet)
    }
    P.play = requestAnimationFrame(step)
  }
  P.play = requestAnimationFrame(step)
}
if (cb_obj === toggle) {
  const M = M_()
  toggle.setv({label: toggle.active ? "\u275a\u275a Pause" : "\u25b6 Play"}, quiet)
  stop_play()
  if (toggle.active && M.client) play()
  else if (!toggle.active && M.client) slider.setv({value_throttled: slider.value})  // tell the server where it stopped
} else if (cb_obj === slider) {
  schedule()
  write_link()
} else {
  schedule()
}
"""


class PlayerLinks:
    """Attach `PLAYER_JS` to a session's views once they are rendered (`attach`).

    Plain Bokeh ``js_on_change`` callbacks on the rendered models: Panel's ``jscallback`` resolves its
    arguments by walking the whole document for every link, which cost a new session more than the
    rest of the explorer's page building.
    """

    def __init__(self, player: FramePlayer, slider, toggle, speed, version, plot, heatmap, cdf, readouts,
                 view):
        self.widgets = dict(slider=slider, toggle=toggle, speed=speed, view=view, heat=heatmap, cdf=cdf,
                            version=version)
        self.args = dict(meta=player.meta, grid=player.grid, atoms=player.atoms, cm=player.cm, d_line=plot.d_line,
                         marker=plot.marker, readouts=readouts)
        self._attached: set[str] = set()

    def attach(self, doc=None) -> bool:
        """Add the callbacks to the rendered models of each document the widgets are in (once each).

        ``doc``: the document being built, whose models may not know it yet (the page's template adds
        them in one step); the player then also draws when that page reports it is ready.
        """
        from bokeh.models import CustomJS

        attached = False
        for ref, (slider, _) in list(self.widgets["slider"]._models.items()):  # noqa: SLF001
            if slider.id in self._attached:  # (called at start and for each scan: once per model)
                continue
            models = {name: w._models.get(ref, (None, None))[0] for name, w in self.widgets.items()}  # noqa: SLF001
            if any(m is None for m in models.values()):
                continue
            callback = CustomJS(args={**self.args, **{k: m for k, m in models.items() if k != "version"}},
                                code=PLAYER_JS)
            models["slider"].js_on_change("value", callback)
            models["toggle"].js_on_change("active", callback)
            models["version"].js_on_change("value", callback)
            page = doc if doc is not None else models["slider"].document
            if page is not None:  # frames already in the page: draw them when it is ready
                page.js_on_event("document_ready", callback)
            self._attached.add(slider.id)
            attached = True
        return attached
