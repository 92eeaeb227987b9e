// The sorted Coulomb matrix as a heatmap, and the CDFs of its entries at d and at d = 0, drawn on
// a canvas (no library, nothing fetched). One file for both views (`model.kind`): they share the
// text, tick and resize helpers. The page's frame player (frame_player.py) sets their data for
// every grid point without a server round trip; the server sets them on its own path.

// Viridis, interpolated from 17 of matplotlib's 256 colours (every 16th, and the last).
const VIRIDIS = ["#440154", "#481a6c", "#472f7d", "#414487", "#39568c", "#31688e", "#2a788e", "#23888e",
                 "#1f988b", "#22a884", "#35b779", "#54c568", "#7ad151", "#a5db36", "#d2e21b", "#fde725",
                 "#fde725"]
const MOVING = "#f28e00"
const W1 = "#0072b2"
const ZERO = "#7a8391"
const INK = "#394452"
const GRID = "#e3e7ed"
// Font sizes in points: title, axis label, tick label, legend; normal and presentation mode.
const FONTS = {false: [13, 13, 9, 10], true: [16, 17, 12, 13]}

function rgb(hex) { const n = parseInt(hex.slice(1), 16); return [n >> 16, (n >> 8) & 255, n & 255] }
const STOPS = VIRIDIS.map(rgb)

function colour(t) {  // t in [0, 1] -> viridis
  if (!isFinite(t)) return "#bbbbbb"
  const u = Math.min(1, Math.max(0, t)) * (STOPS.length - 2), k = Math.floor(u), f = u - k
  const a = STOPS[k], b = STOPS[k + 1]
  return `rgb(${Math.round(a[0] + f * (b[0] - a[0]))},${Math.round(a[1] + f * (b[1] - a[1]))},` +
    `${Math.round(a[2] + f * (b[2] - a[2]))})`
}

const SUPERSCRIPT = {"-": "\u207b", 0: "\u2070", 1: "\u00b9", 2: "\u00b2", 3: "\u00b3", 4: "\u2074", 5: "\u2075",
                     6: "\u2076", 7: "\u2077", 8: "\u2078", 9: "\u2079"}
function power_of_ten(k) { return "10" + String(k).split("").map(c => SUPERSCRIPT[c]).join("") }

function nice_ticks(lo, hi, count) {  // about `count` round numbers between lo and hi
  const span = hi - lo
  if (!(span > 0)) return [lo]
  const raw = span / count, mag = Math.pow(10, Math.floor(Math.log10(raw)))
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => span / s <= count) || 10 * mag
  const out = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push(Math.abs(v) < 1e-12 ? 0 : v)
  return out
}
function tick_text(v, step) {
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9))
  return v.toLocaleString("en-US", {minimumFractionDigits: digits, maximumFractionDigits: digits})
}

function setup(canvas, el) {  // a crisp canvas the size of the element; returns [ctx, width, height]
  const dpr = window.devicePixelRatio || 1
  const w = el.clientWidth || 300, h = el.clientHeight || 300
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr)
    canvas.style.width = w + "px"; canvas.style.height = h + "px"
  }
  const ctx = canvas.getContext("2d")
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
  ctx.clearRect(0, 0, w, h)
  return [ctx, w, h]
}
function font(ctx, pt, bold) { ctx.font = `${bold ? "bold " : ""}${pt}pt system-ui, -apple-system, "Segoe UI", sans-serif` }
function title(ctx, text, pt, w) {  // shrunk to fit a narrow view (a projector in presentation mode)
  font(ctx, pt, true)
  const fit = Math.max(0.6, Math.min(1, (w - 12) / Math.max(1, ctx.measureText(text).width)))
  if (fit < 1) font(ctx, Math.floor(pt * fit * 10) / 10, true)
  ctx.fillStyle = "#222"; ctx.textAlign = "left"; ctx.textBaseline = "top"
  ctx.fillText(text, 6, 4)
}

function draw_heatmap(model, ctx, w, h, hit) {
  const [tpt, lpt, kpt] = FONTS[!!model.presentation]
  title(ctx, model.title, tpt, w)
  const n = model.labels.length, values = model.values
  if (!n || values.length !== n * (n + 1) / 2) return
  const top = tpt * 1.33 + 14, left = kpt * 1.33 * 3 + 8, bar = 64, bottom = kpt * 1.33 * 3 + 10 +
    (model.axis_label ? lpt * 1.33 + 4 : 0)
  const side = Math.max(40, Math.min(w - left - bar, h - top - bottom)), c = side / n
  const x0 = left + Math.max(0, (w - left - bar - side) / 2), y0 = top
  const lo = Math.log(model.low), span = Math.log(model.high) - lo
  const at = (r, k) => { const a = Math.min(r, k), b = Math.max(r, k); return values[a * n - a * (a - 1) / 2 + b - a] }
  for (let r = 0; r < n; r++) for (let k = 0; k < n; k++) {
    const v = at(r, k)
    ctx.fillStyle = v > 0 ? colour((Math.log(v) - lo) / span) : colour(0)
    ctx.fillRect(x0 + k * c, y0 + r * c, Math.ceil(c), Math.ceil(c))
  }
  const m = model.moving
  if (m >= 0 && m < n) {
    ctx.strokeStyle = MOVING; ctx.lineWidth = model.presentation ? 4 : 3
    ctx.strokeRect(x0 + m * c, y0, c, side); ctx.strokeRect(x0, y0 + m * c, side, c)
  }
  font(ctx, kpt); ctx.fillStyle = INK
  for (const r of model.ticks) {
    if (r >= n) continue
    ctx.textAlign = "right"; ctx.textBaseline = "middle"
    ctx.fillText(model.labels[r], x0 - 5, y0 + (r + 0.5) * c)
    ctx.save(); ctx.translate(x0 + (r + 0.5) * c, y0 + side + 5); ctx.rotate(-1.2)
    ctx.textAlign = "right"; ctx.fillText(model.labels[r], 0, 0); ctx.restore()
  }
  if (model.axis_label) {
    font(ctx, lpt); ctx.textAlign = "center"; ctx.textBaseline = "bottom"
    ctx.fillText(model.axis_label, x0 + side / 2, h - 2)
  }
  // The colour bar, labelled at the powers of ten it spans.
  const bx = x0 + side + 12, steps = 64
  for (let k = 0; k < steps; k++) {
    ctx.fillStyle = colour(1 - (k + 0.5) / steps)
    ctx.fillRect(bx, y0 + k * side / steps, 10, Math.ceil(side / steps))
  }
  font(ctx, kpt); ctx.fillStyle = INK; ctx.textAlign = "left"; ctx.textBaseline = "middle"
  for (let k = Math.ceil(Math.log10(model.low)); k <= Math.floor(Math.log10(model.high)); k++) {
    const y = y0 + side * (1 - (k * Math.LN10 - lo) / span)
    ctx.fillRect(bx + 10, y, 3, 1); ctx.fillText(power_of_ten(k), bx + 16, y)
  }
  hit.cell = (x, y) => {
    const k = Math.floor((x - x0) / c), r = Math.floor((y - y0) / c)
    if (k < 0 || r < 0 || k >= n || r >= n) return null
    return `row ${model.labels[r]} · column ${model.labels[k]} · C = ${at(r, k).toFixed(3)}`
  }
}

function draw_cdf(model, ctx, w, h) {
  const [tpt, lpt, kpt, gpt] = FONTS[!!model.presentation]
  title(ctx, model.title, tpt, w)
  const now = model.now, zero = model.zero, m = now.length
  if (!m || zero.length !== m) return
  const top = tpt * 1.33 + 14, left = lpt * 1.33 + kpt * 1.33 * 2.4 + 14, bottom = lpt * 1.33 + kpt * 1.33 + 16
  const pw = w - left - 12, ph = h - top - bottom
  if (pw < 20 || ph < 20) return
  let lo = Math.min(now[0], zero[0]), hi = Math.max(now[m - 1], zero[m - 1])
  if (!(hi > lo)) { lo -= 1; hi += 1 }
  const pad = 0.04 * (hi - lo); lo -= pad; hi += pad
  const X = v => left + pw * (v - lo) / (hi - lo), Y = f => top + ph * (1 - f / 1.02)
  ctx.fillStyle = "#fbfcfd"; ctx.fillRect(left, top, pw, ph)
  const xt = nice_ticks(lo, hi, Math.max(3, Math.floor(pw / 70))), yt = [0, 0.2, 0.4, 0.6, 0.8, 1]
  ctx.strokeStyle = GRID; ctx.lineWidth = 1
  for (const v of xt) { ctx.beginPath(); ctx.moveTo(X(v), top); ctx.lineTo(X(v), top + ph); ctx.stroke() }
  for (const f of yt) { ctx.beginPath(); ctx.moveTo(left, Y(f)); ctx.lineTo(left + pw, Y(f)); ctx.stroke() }
  // With equal counts both CDFs rise by 1/m at each sorted entry: the region between them is m
  // horizontal strips from zero[k] to now[k], whose total area is mean |now - zero| = W1.
  ctx.fillStyle = W1; ctx.globalAlpha = 0.45
  for (let k = 0; k < m; k++) {
    const a = X(Math.min(now[k], zero[k])), b = X(Math.max(now[k], zero[k]))
    ctx.fillRect(a, Y((k + 1) / m), b - a, Y(k / m) - Y((k + 1) / m))
  }
  ctx.globalAlpha = 1
  const step = (vals, colour, width, dash) => {
    ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.setLineDash(dash); ctx.beginPath()
    ctx.moveTo(X(vals[0]), Y(0))
    for (let k = 0; k < m; k++) {
      ctx.lineTo(X(vals[k]), Y(k / m)); ctx.lineTo(X(vals[k]), Y((k + 1) / m))
      ctx.lineTo(k + 1 < m ? X(vals[k + 1]) : X(hi), Y((k + 1) / m))
    }
    ctx.stroke(); ctx.setLineDash([])
  }
  const f = model.presentation ? 1.8 : 1
  step(zero, ZERO, 2 * f, [6, 4])
  step(now, W1, 2.5 * f, [])
  ctx.strokeStyle = "#c5ccd6"; ctx.lineWidth = 1; ctx.strokeRect(left, top, pw, ph)
  font(ctx, kpt); ctx.fillStyle = INK
  ctx.textAlign = "center"; ctx.textBaseline = "top"
  const xs = xt.length > 1 ? xt[1] - xt[0] : 1
  for (const v of xt) ctx.fillText(tick_text(v, xs), X(v), top + ph + 4)
  ctx.textAlign = "right"; ctx.textBaseline = "middle"
  for (const v of yt) ctx.fillText(v.toFixed(1), left - 5, Y(v))
  font(ctx, lpt); ctx.textAlign = "center"; ctx.textBaseline = "bottom"
  ctx.fillText("Coulomb matrix entry", left + pw / 2, h - 2)
  const ylabel = "Fraction of entries \u2264", room = ph / Math.max(1, ctx.measureText(ylabel).width)
  if (room < 1) font(ctx, Math.max(7, Math.floor(lpt * room * 10) / 10))  // the plot's height, not more
  ctx.save(); ctx.translate(4, top + ph / 2); ctx.rotate(-Math.PI / 2); ctx.textBaseline = "top"
  ctx.fillText(ylabel, 0, 0); ctx.restore()
  // The legend, bottom right inside the plot.
  const items = [["area = W1", "area"], ["at d = 0", "zero"], ["at d", "now"]]
  font(ctx, gpt)
  const lh = gpt * 1.33 + 6, lw = 34 + Math.max(...items.map(([t]) => ctx.measureText(t).width)) + 8
  const lx = left + pw - lw - 6, ly = top + ph - items.length * lh - 10
  ctx.fillStyle = "rgba(255,255,255,0.85)"; ctx.fillRect(lx, ly, lw, items.length * lh + 6)
  items.forEach(([text, kind], k) => {
    const y = ly + 3 + k * lh + lh / 2
    if (kind === "area") { ctx.fillStyle = W1; ctx.globalAlpha = 0.45; ctx.fillRect(lx + 6, y - 5, 22, 10); ctx.globalAlpha = 1 }
    else {
      ctx.strokeStyle = kind === "now" ? W1 : ZERO; ctx.lineWidth = 2.5; ctx.setLineDash(kind === "now" ? [] : [6, 4])
      ctx.beginPath(); ctx.moveTo(lx + 6, y); ctx.lineTo(lx + 28, y); ctx.stroke(); ctx.setLineDash([])
    }
    ctx.fillStyle = INK; ctx.textAlign = "left"; ctx.textBaseline = "middle"; ctx.fillText(text, lx + 34, y)
  })
}

export function render({ model, el }) {
  const wrap = document.createElement("div")
  wrap.className = "wqml-cmview"
  const canvas = document.createElement("canvas")
  canvas.setAttribute("role", "img")
  const tip = document.createElement("div")
  tip.className = "wqml-cmview-tip"
  wrap.append(canvas, tip)
  const hit = {cell: null}
  function draw() {
    const [ctx, w, h] = setup(canvas, el)
    hit.cell = null
    if (model.kind === "heatmap") draw_heatmap(model, ctx, w, h, hit)
    else draw_cdf(model, ctx, w, h)
    canvas.setAttribute("aria-label", model.title)
  }
  canvas.addEventListener("mousemove", e => {
    const r = canvas.getBoundingClientRect(), text = hit.cell ? hit.cell(e.clientX - r.left, e.clientY - r.top) : null
    tip.style.display = text ? "block" : "none"
    if (text) { tip.textContent = text; tip.style.left = `${e.clientX - r.left + 12}px`; tip.style.top = `${e.clientY - r.top + 12}px` }
  })
  canvas.addEventListener("mouseleave", () => { tip.style.display = "none" })
  // Data arrive one property at a time: draw once per animation frame, after all of them, and
  // never throw into Bokeh's update loop (it would drop the rest of the update).
  let pending = false
  function schedule() {
    if (pending) return
    pending = true
    requestAnimationFrame(() => {
      pending = false
      try { draw() } catch (err) { console.warn("wqml cm view:", err) }
    })
  }
  model.on(model.kind === "heatmap"
    ? ["values", "labels", "moving", "title", "low", "high", "ticks", "axis_label", "presentation"]
    : ["now", "zero", "title", "presentation"], schedule)
  model.on("after_render", schedule)
  const observer = new ResizeObserver(schedule)
  observer.observe(el)
  model.on("remove", () => observer.disconnect())
  return wrap
}
