// A line chart on a plain canvas: one line per series over a sliding time window.

const AXIS = '#8fa0bd'
const GRID = 'rgba(143, 160, 189, 0.15)'
const PAD = { top: 12, right: 16, bottom: 26, left: 48 }

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{ windowMs: number, now: number, unit: string, digits: number,
 *           series: Array<{ color: string, points: Array<[number, number]> }> }} spec
 * @returns {number} the number of points drawn
 */
export function drawChart(canvas, spec) {
  const ratio = window.devicePixelRatio || 1
  const width = canvas.clientWidth
  const height = canvas.clientHeight
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio)
    canvas.height = Math.round(height * ratio)
  }
  const ctx = canvas.getContext('2d')
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0)
  ctx.clearRect(0, 0, width, height)

  const from = spec.now - spec.windowMs
  const visible = spec.series.map((s) => ({ color: s.color, points: s.points.filter(([t]) => t >= from) }))
  const values = visible.flatMap((s) => s.points.map(([, v]) => v))
  const plot = { x: PAD.left, y: PAD.top, w: width - PAD.left - PAD.right, h: height - PAD.top - PAD.bottom }
  ctx.font = '12px system-ui, "DejaVu Sans", sans-serif'
  ctx.fillStyle = AXIS

  if (values.length === 0) {
    ctx.textAlign = 'center'
    ctx.fillText('no readings yet', plot.x + plot.w / 2, plot.y + plot.h / 2)
    return 0
  }

  let [min, max] = [Math.min(...values), Math.max(...values)]
  const span = max - min || Math.max(1, Math.abs(max) * 0.1)
  min -= span * 0.15
  max += span * 0.15
  const x = (t) => plot.x + ((t - from) / spec.windowMs) * plot.w
  const y = (v) => plot.y + plot.h - ((v - min) / (max - min)) * plot.h

  // Horizontal grid with value labels.
  ctx.strokeStyle = GRID
  ctx.lineWidth = 1
  ctx.textAlign = 'right'
  ctx.textBaseline = 'middle'
  for (let i = 0; i <= 4; i++) {
    const v = min + ((max - min) * i) / 4
    const py = Math.round(y(v)) + 0.5
    ctx.beginPath()
    ctx.moveTo(plot.x, py)
    ctx.lineTo(plot.x + plot.w, py)
    ctx.stroke()
    ctx.fillText(`${v.toFixed(spec.digits)}${spec.unit}`, plot.x - 6, py)
  }
  // Time labels: how long ago.
  ctx.textAlign = 'center'
  ctx.textBaseline = 'top'
  for (let i = 0; i <= 5; i++) {
    const t = from + (spec.windowMs * i) / 5
    const ago = Math.round((spec.now - t) / 1000)
    ctx.fillText(ago === 0 ? 'now' : `-${ago >= 60 ? `${Math.round(ago / 60)} min` : `${ago} s`}`, x(t), plot.y + plot.h + 8)
  }

  let drawn = 0
  ctx.lineJoin = 'round'
  ctx.lineCap = 'round'
  for (const s of visible) {
    if (s.points.length === 0) continue
    ctx.strokeStyle = s.color
    ctx.fillStyle = s.color
    ctx.lineWidth = 2
    ctx.beginPath()
    s.points.forEach(([t, v], i) => (i === 0 ? ctx.moveTo(x(t), y(v)) : ctx.lineTo(x(t), y(v))))
    ctx.stroke()
    const [lastT, lastV] = s.points[s.points.length - 1]
    ctx.beginPath()
    ctx.arc(x(lastT), y(lastV), 3, 0, Math.PI * 2)
    ctx.fill()
    drawn += s.points.length
  }
  return drawn
}
