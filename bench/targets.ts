/** The targets, each judged on figures measured side by side in the same run. */
import type { LoadResult } from './in-flight'
import type { Timing } from './sequential'

export interface Target {
  name: string
  met: boolean
  /** The figures it was judged on. */
  figures: string
}

/** Package / native loop at most this, for every layer count and strategy. */
export const MAX_NATIVE_RATIO = 1.1
/** mount(8) / package at least this. */
export const MIN_MOUNT8_RATIO = 10
/** Event-loop delay p99 under this many ms with the mounts in flight. */
export const MAX_LOOP_P99_MS = 1
/** `node:fs` read latency (p50) loaded / baseline at most this. */
export const MAX_READ_RATIO = 1.1
/** Log-log slope of time per cycle against layer count at most this (1 is linear). */
export const MAX_SLOPE = 1.1

/** One row of package against native loop. */
export interface NativeRow {
  layers: number
  /** `auto (fd)`, `fd`, ... */
  label: string
  nativeNs: number
  packageNs: number
  ratio: number
}

/** One row of package against mount(8), where mount(8) can carry the set. */
export interface Mount8Row {
  layers: number
  packageNs: number
  mount8Ns: number
  ratio: number
}

/** Log-log slopes of the package's `auto` between consecutive layer counts. */
export interface Slope {
  from: number
  to: number
  slope: number
}

const x = (n: number) => `${n.toFixed(2)}x`

/** The slopes of `auto` time per cycle between consecutive layer counts. */
export function slopes(timings: Timing[]): Slope[] {
  const auto = timings
    .filter((t) => t.approach.kind === 'package' && t.approach.strategy === 'auto')
    .filter((t) => Number.isFinite(t.medianNs))
    .sort((a, b) => a.approach.layers - b.approach.layers)
  return auto.slice(1).map((t, i) => {
    const before = auto[i]
    const slope =
      Math.log(t.medianNs / before.medianNs) / Math.log(t.approach.layers / before.approach.layers)
    return { from: before.approach.layers, to: t.approach.layers, slope }
  })
}

/** Every target, met or not, with the figures behind the verdict. */
export function judge(
  nativeRows: NativeRow[],
  mount8Rows: Mount8Row[],
  load: LoadResult,
  growth: Slope[],
): Target[] {
  const worstNative = nativeRows.reduce((w, r) => (r.ratio > w.ratio ? r : w), nativeRows[0])
  const over = nativeRows.filter((r) => r.ratio > MAX_NATIVE_RATIO)
  const overText = over.map((r) => `${r.label} at ${r.layers}: ${x(r.ratio)}`).join(', ')
  const worstMount8 = mount8Rows.reduce((w, r) => (r.ratio < w.ratio ? r : w), mount8Rows[0])
  const readRatio = load.loaded.fsRead.p50 / load.baseline.fsRead.p50
  const steepest = growth.reduce((w, s) => (s.slope > w.slope ? s : w), growth[0])
  return [
    {
      name: `package <= ${MAX_NATIVE_RATIO.toFixed(2)}x native loop, every layer set and strategy`,
      met: over.length === 0,
      figures: worstNative
        ? `worst ${x(worstNative.ratio)} (${worstNative.label}, ${worstNative.layers} layers)` +
          (over.length ? `; over: ${overText}` : '')
        : 'no rows',
    },
    {
      name: `package >= ${MIN_MOUNT8_RATIO}x faster than mount(8)`,
      met: mount8Rows.length > 0 && mount8Rows.every((r) => r.ratio >= MIN_MOUNT8_RATIO),
      figures: worstMount8
        ? `least ${x(worstMount8.ratio)} (${worstMount8.layers} layers); ` +
          `mount(8) measured at ${mount8Rows.map((r) => r.layers).join(', ')} layers only`
        : 'mount(8) could carry no layer set',
    },
    {
      name: `event-loop delay p99 < ${MAX_LOOP_P99_MS} ms, ${load.inFlight} mounts in flight`,
      met: load.loaded.eventLoop.p99 < MAX_LOOP_P99_MS,
      figures:
        `p99 ${load.loaded.eventLoop.p99.toFixed(3)} ms writable, ` +
        `${load.readOnly.eventLoop.p99.toFixed(3)} ms read-only ` +
        `(baseline ${load.baseline.eventLoop.p99.toFixed(3)} ms)`,
    },
    {
      name: `node:fs read latency within ${Math.round((MAX_READ_RATIO - 1) * 100)}% of baseline`,
      met: readRatio <= MAX_READ_RATIO,
      figures:
        `p50 ${load.loaded.fsRead.p50.toFixed(1)} µs writable against ` +
        `${load.baseline.fsRead.p50.toFixed(1)} µs: ${x(readRatio)} ` +
        `(read-only ${x(load.readOnly.fsRead.p50 / load.baseline.fsRead.p50)})`,
    },
    {
      name: `time per mount grows no faster than linearly (log-log slope <= ${MAX_SLOPE})`,
      met: growth.length > 0 && growth.every((s) => s.slope <= MAX_SLOPE),
      figures: steepest
        ? growth.map((s) => `${s.from}->${s.to}: ${s.slope.toFixed(2)}`).join(', ')
        : 'fewer than two layer counts',
    },
  ]
}
