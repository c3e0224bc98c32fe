/**
 * The chart: median time per mount+unmount cycle against layer count, one line per approach,
 * on log-log axes (a line of slope 1 is linear growth). Hand-written SVG.
 */
import { STRATEGIES } from '../dist'
import type { Strategy } from '../dist'
import type { Kind } from './approaches'
import { layerCounts } from './report'
import type { BenchResult } from './report'
import type { Timing } from './sequential'

interface Series {
  label: string
  color: string
  dashed: boolean
  width: number
  points: [number, number][]
}

const COLORS: Record<Strategy, string> = {
  fd: '#1f77b4',
  'lowerdir+': '#2ca02c',
  absolute: '#9467bd',
  relative: '#8c564b',
  procfd: '#e377c2',
}

const [W, H] = [820, 480]
const PLOT = { left: 70, right: 600, top: 40, bottom: 420 }

function points(timings: Timing[], kind: Kind, strategy: 'auto' | Strategy): [number, number][] {
  return timings
    .filter((t) => t.approach.kind === kind && t.approach.strategy === strategy)
    .filter((t) => t.approach.skip === null && Number.isFinite(t.medianNs) && t.medianNs > 0)
    .map((t): [number, number] => [t.approach.layers, t.medianNs / 1e3])
    .sort((a, b) => a[0] - b[0])
}

function series(r: BenchResult): Series[] {
  const t = r.timings
  const line = (
    label: string,
    color: string,
    p: [number, number][],
    dashed = false,
    width = 2,
  ) => ({ label, color, dashed, width, points: p })
  return [
    line('package, auto', '#000000', points(t, 'package', 'auto'), false, 3),
    line('package, plan once', '#17becf', points(t, 'planned', 'auto'), false, 3),
    ...STRATEGIES.map((s) => line(`package, ${s}`, COLORS[s], points(t, 'package', s))),
    ...STRATEGIES.map((s) => line(`native loop, ${s}`, COLORS[s], points(t, 'native', s), true)),
    line('binding, pool', '#7f7f7f', points(t, 'pool', 'auto')),
    line('binding, fresh thread', '#bcbd22', points(t, 'fresh', 'auto')),
    line('mount(8) fork+exec', '#d62728', points(t, 'mount8', 'auto'), false, 3),
  ].filter((s) => s.points.length > 0)
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** The chart as an SVG document. */
export function svg(r: BenchResult): string {
  const all = series(r)
  const ys = all.flatMap((s) => s.points.map((p) => p[1]))
  const counts = layerCounts(r.timings)
  const [yLo, yHi] = [
    10 ** Math.floor(Math.log10(Math.min(...ys, 10))),
    10 ** Math.ceil(Math.log10(Math.max(...ys, 100))),
  ]
  const [xLo, xHi] = [Math.min(...counts, 2) / 1.5, Math.max(...counts, 2) * 1.5]
  const sx = (v: number) =>
    PLOT.left +
    ((Math.log(v) - Math.log(xLo)) / (Math.log(xHi) - Math.log(xLo))) * (PLOT.right - PLOT.left)
  const sy = (v: number) =>
    PLOT.bottom -
    ((Math.log(v) - Math.log(yLo)) / (Math.log(yHi) - Math.log(yLo))) * (PLOT.bottom - PLOT.top)
  const f = (v: number) => v.toFixed(1)

  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${PLOT.left}" y="22" font-size="15">Median time per mount+unmount cycle ` +
      `against layer count (log-log)</text>`,
  ]
  for (let y = yLo; y <= yHi * 1.001; y *= 10) {
    out.push(
      `<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${f(sy(y))}" y2="${f(sy(y))}" ` +
        'stroke="#dddddd"/>',
      `<text x="${PLOT.left - 6}" y="${f(sy(y) + 4)}" text-anchor="end">` +
        `${y >= 1000 ? `${y / 1000} ms` : `${y} µs`}</text>`,
    )
  }
  for (const c of counts) {
    out.push(
      `<line x1="${f(sx(c))}" x2="${f(sx(c))}" y1="${PLOT.top}" y2="${PLOT.bottom}" ` +
        'stroke="#dddddd"/>',
      `<text x="${f(sx(c))}" y="${PLOT.bottom + 16}" text-anchor="middle">${c}</text>`,
    )
  }
  out.push(
    `<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" ` +
      `height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#000000"/>`,
    `<text x="${(PLOT.left + PLOT.right) / 2}" y="${PLOT.bottom + 36}" text-anchor="middle">` +
      `lower layers</text>`,
  )
  all.forEach((s, i) => {
    const path = s.points.map(([lx, ly], j) => `${j === 0 ? 'M' : 'L'}${f(sx(lx))},${f(sy(ly))}`)
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : ''
    out.push(
      `<path d="${path.join(' ')}" fill="none" stroke="${s.color}" ` +
        `stroke-width="${s.width}"${dash}/>`,
      ...s.points.map(
        ([lx, ly]) => `<circle cx="${f(sx(lx))}" cy="${f(sy(ly))}" r="2.5" fill="${s.color}"/>`,
      ),
    )
    const ly = PLOT.top + 10 + i * 18
    out.push(
      `<line x1="${PLOT.right + 16}" x2="${PLOT.right + 46}" y1="${ly}" y2="${ly}" ` +
        `stroke="${s.color}" stroke-width="${s.width}"${dash}/>`,
      `<text x="${PLOT.right + 52}" y="${ly + 4}">${esc(s.label)}</text>`,
    )
  })
  out.push('</svg>', '')
  return out.join('\n')
}
