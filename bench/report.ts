/** The results as ratio tables in Markdown, printed to the terminal and written to a file. */
import { STRATEGIES } from '../dist'
import type { Approach, Kind } from './approaches'
import type { LoadResult, Phase, ThroughputResult } from './in-flight'
import type { MainThreadCost } from './main-thread'
import type { Timing } from './sequential'
import { judge, slopes } from './targets'
import type { Mount8Row, NativeRow, Target } from './targets'

export interface Machine {
  kernel: string
  node: string
  cpus: number
  pageSize: number
  date: string
}

export interface Settings {
  rounds: number
  cycles: number
  inFlight: number
  loadRounds: number
  loadLayers: number
  throughputCycles: number
  throughputRounds: number
}

export interface BenchResult {
  machine: Machine
  settings: Settings
  timings: Timing[]
  load: LoadResult
  throughput: ThroughputResult[]
  mainThread: MainThreadCost[]
  nativeRows: NativeRow[]
  mount8Rows: Mount8Row[]
  targets: Target[]
}

const us = (ns: number) => {
  const v = ns / 1e3
  return v < 100 ? v.toFixed(1) : Math.round(v).toString()
}
const x = (r: number) => `${r.toFixed(2)}x`

function find(timings: Timing[], kind: Kind, layers: number, strategy: Approach['strategy']) {
  return timings.find(
    (t) =>
      t.approach.kind === kind && t.approach.layers === layers && t.approach.strategy === strategy,
  )
}

/** The layer counts of the run, in order. */
export function layerCounts(timings: Timing[]): number[] {
  return [...new Set(timings.map((t) => t.approach.layers))].sort((a, b) => a - b)
}

function nativeRows(timings: Timing[]): NativeRow[] {
  const rows: NativeRow[] = []
  for (const layers of layerCounts(timings)) {
    const auto = find(timings, 'package', layers, 'auto')
    const took = auto?.approach.note.replace('takes ', '')
    for (const strategy of ['auto' as const, ...STRATEGIES]) {
      const pkg = find(timings, 'package', layers, strategy)
      const nat = find(timings, 'native', layers, strategy === 'auto' ? (took as never) : strategy)
      if (!pkg || !nat || pkg.approach.skip || nat.approach.skip) continue
      const label = strategy === 'auto' ? `auto (${took})` : strategy
      const ratio = pkg.medianNs / nat.medianNs
      rows.push({ layers, label, nativeNs: nat.medianNs, packageNs: pkg.medianNs, ratio })
      const planned = find(timings, 'planned', layers, 'auto')
      if (strategy === 'auto' && planned && !planned.approach.skip) {
        const packageNs = planned.medianNs
        const once = { layers, label: `plan once (${took})`, nativeNs: nat.medianNs, packageNs }
        rows.push({ ...once, ratio: packageNs / nat.medianNs })
      }
    }
  }
  return rows
}

function mount8Rows(timings: Timing[]): Mount8Row[] {
  return layerCounts(timings).flatMap((layers) => {
    const pkg = find(timings, 'package', layers, 'auto')
    const m8 = find(timings, 'mount8', layers, 'auto')
    if (!pkg || !m8 || m8.approach.skip || pkg.approach.skip) return []
    return [
      {
        layers,
        packageNs: pkg.medianNs,
        mount8Ns: m8.medianNs,
        ratio: m8.medianNs / pkg.medianNs,
      },
    ]
  })
}

/** Puts the tables' rows and the targets' verdicts together. */
export function summarize(
  partial: Omit<BenchResult, 'nativeRows' | 'mount8Rows' | 'targets'>,
): BenchResult {
  const n = nativeRows(partial.timings)
  const m = mount8Rows(partial.timings)
  const targets = judge(n, m, partial.load, slopes(partial.timings))
  return { ...partial, nativeRows: n, mount8Rows: m, targets }
}

function table(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ]
}

function nativeTable(r: BenchResult): string[] {
  const rows: string[][] = []
  for (const layers of layerCounts(r.timings)) {
    const hops = find(r.timings, 'hops', layers, 'auto')?.medianNs ?? NaN
    for (const strategy of ['auto' as const, 'plan once' as const, ...STRATEGIES]) {
      const label = strategy
      const row = r.nativeRows.find(
        (n) => n.layers === layers && (n.label === strategy || n.label.startsWith(`${label} (`)),
      )
      if (row) {
        const floor = x((row.nativeNs + hops) / row.nativeNs)
        const ns = [us(row.nativeNs), us(row.packageNs)]
        rows.push([String(layers), row.label, ...ns, x(row.ratio), floor])
        continue
      }
      const kind = strategy === 'plan once' ? 'planned' : 'package'
      const pkg = find(r.timings, kind, layers, strategy === 'plan once' ? 'auto' : strategy)
      const why = `cannot: ${pkg?.approach.skip ?? 'not run'}`
      rows.push([String(layers), label, '-', '-', why, '-'])
    }
  }
  const head = ['layers', 'strategy', 'native loop µs', 'package µs', 'package / native loop']
  return table([...head, 'floor: (native loop + 2 round trips) / native loop'], rows)
}

function othersTable(r: BenchResult): string[] {
  const rows = layerCounts(r.timings).map((layers) => {
    const pkg = find(r.timings, 'package', layers, 'auto')
    const m8 = find(r.timings, 'mount8', layers, 'auto')
    const pool = find(r.timings, 'pool', layers, 'auto')
    const fresh = find(r.timings, 'fresh', layers, 'auto')
    const hops = find(r.timings, 'hops', layers, 'auto')
    const m8Text = m8?.approach.skip ? 'cannot' : us(m8?.medianNs ?? NaN)
    const m8Ratio = m8?.approach.skip
      ? m8.approach.skip
      : `${x(m8!.medianNs / pkg!.medianNs)} (${m8!.approach.note})`
    const poolNs = pool?.medianNs ?? NaN
    const freshNs = fresh?.medianNs ?? NaN
    const pkgNs = pkg?.medianNs ?? NaN
    return [
      String(layers),
      us(pkgNs),
      m8Text,
      m8Ratio,
      us(poolNs),
      us(freshNs),
      x(freshNs / poolNs),
      us(hops?.medianNs ?? NaN),
    ]
  })
  const head = ['layers', 'package auto µs', 'mount(8) µs', 'mount(8) / package']
  const threads = ['pool µs', 'fresh thread µs', 'fresh / pool', '2 round trips µs']
  return table([...head, ...threads], rows)
}

function loadTable(r: BenchResult): string[] {
  const { baseline, loaded, readOnly } = r.load
  const ratio = (b: number, l: number) => (b > 0 ? x(l / b) : '-')
  const row = (name: string, pick: (p: Phase) => number, digits: number) => {
    const [b, w, ro] = [baseline, loaded, readOnly].map(pick)
    return [
      name,
      b.toFixed(digits),
      w.toFixed(digits),
      ratio(b, w),
      ro.toFixed(digits),
      ratio(b, ro),
    ]
  }
  const head = [`${r.load.inFlight} mounts in flight, ${r.load.layers} layers`, 'baseline']
  const loads = ['writable', 'writable / baseline', 'read-only', 'read-only / baseline']
  return table(
    [...head, ...loads],
    [
      row('event-loop delay p50 (ms)', (p) => p.eventLoop.p50, 3),
      row('event-loop delay p99 (ms)', (p) => p.eventLoop.p99, 3),
      row('event-loop delay max (ms)', (p) => p.eventLoop.max, 3),
      row('node:fs read p50 (µs)', (p) => p.fsRead.p50, 1),
      row('node:fs read p99 (µs)', (p) => p.fsRead.p99, 1),
    ],
  )
}

function throughputTable(r: BenchResult): string[] {
  const head = ['mounts in flight', ...r.throughput.map((t) => String(t.inFlight))]
  const rates = (name: string, pick: (t: ThroughputResult) => number) => [
    name,
    ...r.throughput.map((t) => Math.round(pick(t)).toString()),
  ]
  return table(head, [
    rates('writable: mount+unmount cycles / s', (t) => t.cyclesPerSecond),
    rates('read-only: mount+unmount cycles / s', (t) => t.readOnlyCyclesPerSecond),
  ])
}

function mainThreadTable(r: BenchResult): string[] {
  const rows = r.mainThread.map((c) => {
    const total = c.planUs + c.submitUs
    const burst = (total * r.load.inFlight) / 1e3
    return [
      String(c.layers),
      c.planUs.toFixed(1),
      c.submitUs.toFixed(1),
      total.toFixed(1),
      burst.toFixed(1),
    ]
  })
  const head = ['layers', 'plan() µs', 'native call µs', 'per mount() µs']
  return table([...head, `${r.load.inFlight} at once, ms`], rows)
}

/** The whole report as Markdown. */
export function markdown(r: BenchResult): string {
  const m = r.machine
  const s = r.settings
  const lines = [
    '# Benchmark: mount+unmount from Node, side by side',
    '',
    `Linux ${m.kernel}, Node ${m.node}, ${m.cpus} CPUs, page size ${m.pageSize}, ${m.date}. ` +
      'Docker-like layer sets (`overlay2/<64 hex digits>/diff`), writable, on a tmpfs. ' +
      'Each figure is ' +
      `the median of ${s.rounds * s.cycles} mount+unmount cycles, taken ${s.cycles} at a time ` +
      `in ${s.rounds} interleaved rounds after one warm-up round.`,
    '',
    '## Package against the native loop',
    '',
    "The native loop is `overlayfs-bench`: the core's mount and unmount of the same request, " +
      'back to back on one thread, without Node. The package is `mount(options)` then ' +
      '`unmount()`; "plan once" is `mount(plan)` with `plan(options)` made before the cycles.',
    '',
    ...nativeTable(r),
    '',
    '## Against mount(8), and a fresh thread per mount against the pool',
    '',
    "`mount(8)` is `execFile('mount', [...])` then `execFile('umount', [...])`. Pool and " +
      'fresh thread use the native binding with the plan made once. "2 round trips" are two ' +
      'unmounts of a directory that is not a mount point: a thread hop each way, twice, ' +
      'around next to no work, the cost of keeping the syscalls off the event loop.',
    '',
    ...othersTable(r),
    '',
    '## With mounts in flight',
    '',
    'Event-loop delay is `monitorEventLoopDelay` less its 1 ms sampling interval; p50 and ' +
      "p99 are the medians of the phases' own, max the largest of all. The `node:fs` reads " +
      'are 4 concurrent one-page `fs.read` calls each millisecond. Baseline phases (no ' +
      `mounts) alternate with loaded ones (a wave of ${s.inFlight} mounts through the ` +
      `package, then their unmounts), ${s.loadRounds} of each kind: writable (each mount ` +
      'with its own upper and work) and read-only. The targets are judged on the writable ' +
      'ones.',
    '',
    ...loadTable(r),
    '',
    `Throughput, ${r.throughput[0]?.layers ?? '-'} layers, median of ${s.throughputRounds} ` +
      `interleaved rounds of at least ${s.throughputCycles} cycles:`,
    '',
    ...throughputTable(r),
    '',
    '## Event-loop time per mount',
    '',
    'The synchronous part of `mount(options)`, on the event loop: `plan()`, then the native ' +
      'call that converts the request and queues it for a mount thread (median of ' +
      `${r.settings.rounds} calls each). Mounts started together hold the loop for the sum.`,
    '',
    ...mainThreadTable(r),
    '',
    '## Targets',
    '',
    ...r.targets.map((t) => `- ${t.met ? 'met' : 'NOT met'}: ${t.name}: ${t.figures}`),
    '',
  ]
  return lines.join('\n')
}
