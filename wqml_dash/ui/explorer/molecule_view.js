// Ball-and-stick molecule on a 2D canvas: depth-sorted shaded spheres and bonds, drag to rotate,
// wheel to zoom, click an atom to pick it. No dependencies; nothing is fetched.
// The camera (rotation, zoom) lives here and survives position updates: only `coords` change
// while the slider moves; it is reset when `scene` changes (a new molecule) or with the button.

const CPK = {H: "#ffffff", C: "#8c8c8c", N: "#3050f8", O: "#ff0d0d", F: "#90e050", S: "#ffff30",
             Cl: "#1ff01f", P: "#ff8000", Br: "#a62929", I: "#940094", B: "#ffb5b5", Si: "#f0c8a0"}
// Covalent radii (Angstrom); balls are drawn at a fraction of them.
const RADIUS = {H: 0.31, C: 0.76, N: 0.71, O: 0.66, F: 0.57, S: 1.05, Cl: 1.02, P: 1.07, Br: 1.2,
                I: 1.39, B: 0.84, Si: 1.11}
const BALL = 0.5
const HIGHLIGHT = "#f28e00"

function matmul(a, b) {
  const r = [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++)
      r[i][j] = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j]
  return r
}
function rot_x(t) { const c = Math.cos(t), s = Math.sin(t); return [[1, 0, 0], [0, c, -s], [0, s, c]] }
function rot_y(t) { const c = Math.cos(t), s = Math.sin(t); return [[c, 0, s], [0, 1, 0], [-s, 0, c]] }
function dot(a, b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2] }
function cross(a, b) { return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]] }
function unit(a) { const n = Math.hypot(a[0], a[1], a[2]) || 1; return [a[0] / n, a[1] / n, a[2] / n] }

function shade(hex, f) {  // f < 0 darker, f > 0 lighter
  const n = parseInt(hex.slice(1), 16)
  let r = n >> 16, g = (n >> 8) & 255, b = n & 255
  const t = f < 0 ? 0 : 255, p = Math.abs(f)
  r = Math.round((t - r) * p + r); g = Math.round((t - g) * p + g); b = Math.round((t - b) * p + b)
  return `rgb(${r},${g},${b})`
}

// A start orientation that shows the motion: the scan axis points up on screen, the molecule's
// widest direction across the axis runs left-right, then a slight tilt to show depth.
function initial_rotation(points, axis) {
  let up = axis && Math.hypot(...axis) > 0 ? unit(axis) : [0, 1, 0]
  let best = null, bestlen = -1
  for (const p of points) {
    const q = [p[0] - dot(p, up) * up[0], p[1] - dot(p, up) * up[1], p[2] - dot(p, up) * up[2]]
    const l = Math.hypot(...q)
    if (l > bestlen) { bestlen = l; best = q }
  }
  let right = bestlen > 1e-6 ? unit(best) : unit(cross(up, Math.abs(up[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0]))
  const view = cross(right, up)
  return matmul(rot_x(0.45), matmul(rot_y(-0.35), [right, up, view]))
}

export function render({ model, el }) {
  const wrap = document.createElement("div")
  wrap.className = "wqml-mol"
  const canvas = document.createElement("canvas")
  canvas.tabIndex = 0
  canvas.setAttribute("role", "img")
  canvas.setAttribute("aria-label", "3D ball-and-stick view of the molecule")
  const hint = document.createElement("div")
  hint.className = "wqml-mol-hint"
  hint.textContent = "drag: rotate · wheel: zoom · click an atom: move that atom"
  const reset = document.createElement("button")
  reset.className = "wqml-mol-reset"
  reset.textContent = "Reset view"
  wrap.append(canvas, hint, reset)

  let R = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
  let zoom = 1
  let center = [0, 0, 0]
  let extent = 1
  let projected = []   // screen positions of atoms from the last draw, for picking
  let scene = null

  function frame() {  // centre and size from the undisplaced molecule: the view stays still while an atom moves
    const pts = model.coords
    if (!pts.length) return
    const ref = model.frame_coords.length === pts.length ? model.frame_coords : pts
    center = [0, 1, 2].map(k => ref.reduce((s, p) => s + p[k], 0) / ref.length)
    const far = model.axis_start.length === 3 ? [...ref, model.axis_start, model.axis_end] : ref
    extent = 0.3 + Math.max(1.2, ...far.map(p => Math.hypot(p[0] - center[0], p[1] - center[1], p[2] - center[2])))
  }

  function reset_camera() {
    frame()
    const rel = (model.frame_coords.length ? model.frame_coords : model.coords)
      .map(p => [p[0] - center[0], p[1] - center[1], p[2] - center[2]])
    const a = model.axis_start, b = model.axis_end
    R = initial_rotation(rel, a.length === 3 ? [b[0] - a[0], b[1] - a[1], b[2] - a[2]] : null)
    zoom = 1
  }

  function to_screen(p, w, h, s) {
    const q = [p[0] - center[0], p[1] - center[1], p[2] - center[2]]
    const x = dot(R[0], q), y = dot(R[1], q), z = dot(R[2], q)
    return [w / 2 + s * x, h / 2 - s * y, z]
  }

  function draw() {
    const dpr = window.devicePixelRatio || 1
    const w = el.clientWidth || 300, h = el.clientHeight || 300
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr); canvas.height = Math.round(h * dpr)
      canvas.style.width = w + "px"; canvas.style.height = h + "px"
    }
    const ctx = canvas.getContext("2d")
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0)
    ctx.clearRect(0, 0, w, h)
    const coords = model.coords, symbols = model.symbols
    if (!coords.length) return
    const s = zoom * 0.48 * Math.min(w, h) / extent
    const P = coords.map(p => to_screen(p, w, h, s))
    const zs = P.map(p => p[2])
    const zmin = Math.min(...zs), zmax = Math.max(...zs)
    const depth = z => zmax > zmin ? (z - zmin) / (zmax - zmin) : 0.5  // 0 far, 1 near
    const items = []
    // A new molecule arrives one property at a time: skip what does not match the atoms yet.
    for (const [i, j] of model.bonds) {
      if (i < P.length && j < P.length) items.push({kind: "bond", i, j, z: (P[i][2] + P[j][2]) / 2 - 0.01})
    }
    coords.forEach((_, i) => items.push({kind: "atom", i, z: P[i][2]}))
    if (model.axis_start.length === 3) {
      const a = to_screen(model.axis_start, w, h, s), b = to_screen(model.axis_end, w, h, s)
      items.push({kind: "axis", a, b, z: -Infinity})
    }
    items.sort((u, v) => u.z - v.z)
    projected = []
    for (const it of items) {
      if (it.kind === "axis") {
        const {a, b} = it
        ctx.save()
        ctx.strokeStyle = HIGHLIGHT; ctx.lineWidth = 2.5; ctx.setLineDash([7, 5])
        ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke()
        ctx.setLineDash([])
        const ang = Math.atan2(b[1] - a[1], b[0] - a[0]), L = 13
        ctx.fillStyle = HIGHLIGHT
        ctx.beginPath(); ctx.moveTo(b[0], b[1])
        ctx.lineTo(b[0] - L * Math.cos(ang - 0.4), b[1] - L * Math.sin(ang - 0.4))
        ctx.lineTo(b[0] - L * Math.cos(ang + 0.4), b[1] - L * Math.sin(ang + 0.4))
        ctx.closePath(); ctx.fill()
        ctx.restore()
      } else if (it.kind === "bond") {
        const a = P[it.i], b = P[it.j]
        const mx = (a[0] + b[0]) / 2, my = (a[1] + b[1]) / 2
        const f = -0.3 * (1 - depth(it.z))
        ctx.lineCap = "round"
        ctx.lineWidth = Math.max(2, 0.16 * s)
        for (const [p, sym] of [[a, symbols[it.i]], [b, symbols[it.j]]]) {
          ctx.strokeStyle = shade(CPK[sym] || "#ff1493", f - 0.1)
          ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(mx, my); ctx.stroke()
        }
      } else {
        const i = it.i, p = P[i], sym = symbols[i]
        const r = Math.max(3, BALL * (RADIUS[sym] || 0.8) * s)
        const base = CPK[sym] || "#ff1493"
        const f = -0.3 * (1 - depth(p[2]))
        const g = ctx.createRadialGradient(p[0] - r / 3, p[1] - r / 3, r / 8, p[0], p[1], r)
        g.addColorStop(0, shade(base, 0.75))
        g.addColorStop(0.45, shade(base, f))
        g.addColorStop(1, shade(base, f - 0.45))
        ctx.fillStyle = g
        ctx.beginPath(); ctx.arc(p[0], p[1], r, 0, 2 * Math.PI); ctx.fill()
        ctx.lineWidth = 1; ctx.strokeStyle = "rgba(0,0,0,0.35)"; ctx.stroke()
        if (i === model.highlight) {
          ctx.lineWidth = 3.5
          ctx.strokeStyle = model.invalid ? "#c0392b" : HIGHLIGHT
          ctx.beginPath(); ctx.arc(p[0], p[1], r + 4, 0, 2 * Math.PI); ctx.stroke()
        }
        projected.push([i, p[0], p[1], r, p[2]])
      }
    }
    if (model.show_labels) draw_labels(ctx)
  }

  function draw_labels(ctx) {  // last, so that bonds in front do not hide them
    // Only labels that can be read: the moving atom and its bonded neighbours first, then the others
    // near to far, each only where it overlaps no label already placed (a large molecule keeps a
    // readable subset; zooming in shows more). The count goes to data-labels for the tests.
    const near = new Set([model.highlight])
    for (const [a, b] of model.bonds) {
      if (a === model.highlight) near.add(b)
      if (b === model.highlight) near.add(a)
    }
    const order = [...projected].sort((a, b) => (near.has(b[0]) - near.has(a[0])) || (b[4] - a[4]))
    const placed = [], shown = []
    for (const [i, px, py, r] of order) {
      const sym = model.symbols[i]
      const text = `${sym}${i}`
      const fs = Math.round(Math.max(10, Math.min(16, r * (sym === "H" ? 0.9 : 0.75))))
      ctx.font = `bold ${fs}px sans-serif`
      const w = ctx.measureText(text).width + 4, h = fs + 2
      const box = [px - w / 2, py - h / 2, px + w / 2, py + h / 2]
      if (placed.some(q => box[0] < q[2] && q[0] < box[2] && box[1] < q[3] && q[1] < box[3])) continue
      placed.push(box)
      shown.push([i, px, py, fs, sym, text])
    }
    for (const [i, px, py, fs, sym, text] of shown.reverse()) {  // drawn far to near
      ctx.font = `bold ${fs}px sans-serif`
      ctx.textAlign = "center"; ctx.textBaseline = "middle"
      const dark = ["H", "F", "S", "Cl", "B"].includes(sym)
      ctx.lineWidth = 3; ctx.strokeStyle = dark ? "rgba(255,255,255,0.8)" : "rgba(0,0,0,0.55)"
      ctx.strokeText(text, px, py)
      ctx.fillStyle = dark ? "#1d2733" : "#ffffff"
      ctx.fillText(text, px, py)
    }
    canvas.dataset.labels = String(shown.length)
    canvas.dataset.labelled = shown.map(s => s[0]).join(",")
  }

  function pick(x, y) {  // the front-most atom under the pointer, or null
    let best = null
    for (const [i, px, py, r, z] of projected) {
      if ((x - px) ** 2 + (y - py) ** 2 <= (r + 3) ** 2 && (best === null || z > best[1])) best = [i, z]
    }
    return best ? best[0] : null
  }

  let drag = null
  canvas.addEventListener("pointerdown", e => {
    drag = {x: e.offsetX, y: e.offsetY, x0: e.offsetX, y0: e.offsetY, moved: false}
    canvas.setPointerCapture(e.pointerId)
  })
  canvas.addEventListener("pointermove", e => {
    if (!drag) {
      canvas.style.cursor = pick(e.offsetX, e.offsetY) === null ? "grab" : "pointer"
      return
    }
    const dx = e.offsetX - drag.x, dy = e.offsetY - drag.y
    if (Math.abs(e.offsetX - drag.x0) + Math.abs(e.offsetY - drag.y0) > 4) drag.moved = true
    R = matmul(matmul(rot_y(dx * 0.01), rot_x(dy * 0.01)), R)
    drag.x = e.offsetX; drag.y = e.offsetY
    schedule()
  })
  canvas.addEventListener("pointerup", e => {
    if (drag && !drag.moved) {
      const i = pick(e.offsetX, e.offsetY)
      if (i !== null && i !== model.highlight) { model.highlight = i }
    }
    drag = null
  })
  canvas.addEventListener("wheel", e => {
    e.preventDefault()
    zoom = Math.min(8, Math.max(0.25, zoom * Math.exp(-e.deltaY * 0.0015)))
    draw()
  }, {passive: false})
  canvas.addEventListener("keydown", e => {
    const turn = {ArrowLeft: [0, -0.1], ArrowRight: [0, 0.1], ArrowUp: [-0.1, 0], ArrowDown: [0.1, 0]}[e.key]
    if (turn) { e.preventDefault(); R = matmul(matmul(rot_y(turn[1]), rot_x(turn[0])), R); draw() }
    else if (e.key === "+" || e.key === "=") { zoom = Math.min(8, zoom * 1.15); draw() }
    else if (e.key === "-") { zoom = Math.max(0.25, zoom / 1.15); draw() }
  })
  reset.addEventListener("click", () => { reset_camera(); draw() })

  // Property changes arrive one by one (a new molecule is several): draw once per animation frame,
  // after all of them, and never throw into Bokeh's update loop (it would drop the rest of the update).
  let pending = false
  function schedule() {
    if (pending) return
    pending = true
    requestAnimationFrame(() => {
      pending = false
      if (model.scene !== scene) { scene = model.scene; reset_camera() }
      if (model.symbols.length === model.coords.length) draw()
    })
  }
  model.on(["coords", "highlight", "invalid", "show_labels", "axis_start", "axis_end", "scene", "symbols", "bonds",
            "frame_coords"], schedule)
  model.on("resize", schedule)
  model.on("after_render", schedule)
  const observer = new ResizeObserver(schedule)
  observer.observe(el)
  model.on("remove", () => observer.disconnect())
  return wrap
}
