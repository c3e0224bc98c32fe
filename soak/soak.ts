/**
 * The soak: many mount/unmount cycles across every strategy, in flight on the main thread
 * and in two workers that each load the package, then the process's descriptors, threads,
 * overlay mounts and resident memory compared with before. Library code of the package
 * prints nothing; this script reports.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'

import { layCanary, runCycles } from './cycles'
import type { CycleFigures } from './cycles'

export interface Counts {
  descriptors: number
  threads: number
  overlays: number
  rssMiB: number
}

export interface SoakFigures {
  cycles: number
  inFlight: number
  seconds: number
  before: Counts
  after: Counts
  canaryReads: number
  canaryMisses: number
  failures: string[]
  /** Resident memory may grow by at most this much. */
  rssBoundMiB: number
  ok: boolean
}

/**
 * The counts that must come back: descriptors, threads, overlay mounts (those under `root`,
 * so that other processes' mounts in the namespace do not count), and memory.
 */
export function counts(root: string): Counts {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
  const status = readFileSync('/proc/self/status', 'utf8')
  const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return {
    descriptors: readdirSync('/proc/self/fd').length,
    threads: readdirSync('/proc/self/task').length,
    overlays: mountinfo.filter((line) => / - overlay /.test(line) && line.includes(` ${root}/`))
      .length,
    rssMiB: Math.round((rssKiB / 1024) * 10) / 10,
  }
}

function inWorker(root: string, cycles: number, inFlight: number): Worker {
  return new Worker(join(__dirname, 'worker-entry.js'), { workerData: { root, cycles, inFlight } })
}

function workerFigures(worker: Worker): Promise<CycleFigures> {
  return new Promise((resolve, reject) => {
    worker.once('message', (m: CycleFigures | { error: string }) =>
      'error' in m ? reject(new Error(m.error)) : resolve(m),
    )
    worker.once('error', reject)
  })
}

/** Runs the soak; `cycles` in all, a third of them in each of two workers. */
export async function soak(
  cycles: number,
  inFlight: number,
  rssBoundMiB = 64,
): Promise<SoakFigures> {
  const root = mkdtempSync(join(tmpdir(), 'overlayfs-soak-'))
  const canary = layCanary(root)
  try {
    // Warm up: load the addon, start the mount threads, let the workers' first load pass.
    await runCycles(join(root, 'warm'), 64, inFlight, canary)
    const warm = [inWorker(join(root, 'warm-w'), 10, 2)]
    await Promise.all(warm.map(workerFigures))
    await Promise.all(warm.map((w) => w.terminate()))
    global.gc?.()
    const before = counts(root)
    const started = process.hrtime.bigint()

    const share = Math.floor(cycles / 3)
    const perWorker = Math.max(1, Math.floor(inFlight / 4))
    const workers = [
      inWorker(join(root, 'w1'), share, perWorker),
      inWorker(join(root, 'w2'), share, perWorker),
    ]
    const results = await Promise.all([
      runCycles(join(root, 'main'), cycles - 2 * share, inFlight, canary),
      ...workers.map(workerFigures),
    ])
    await Promise.all(workers.map((w) => w.terminate()))

    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    global.gc?.()
    const after = counts(root)
    const sum = (key: 'cycles' | 'canaryReads' | 'canaryMisses') =>
      results.reduce((n, r) => n + r[key], 0)
    const failures = results.flatMap((r) => r.failures)
    const figures: SoakFigures = {
      cycles: sum('cycles'),
      inFlight,
      seconds: Math.round(seconds * 10) / 10,
      before,
      after,
      canaryReads: sum('canaryReads'),
      canaryMisses: sum('canaryMisses'),
      failures,
      rssBoundMiB,
      ok: false,
    }
    figures.ok =
      failures.length === 0 &&
      figures.cycles === cycles &&
      figures.canaryMisses === 0 &&
      after.descriptors === before.descriptors &&
      after.threads === before.threads &&
      after.overlays === before.overlays &&
      after.rssMiB - before.rssMiB <= rssBoundMiB
    return figures
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}

function report(f: SoakFigures): string {
  const row = (name: string, key: keyof Counts) =>
    [name.padEnd(14), String(f.before[key]).padStart(8), String(f.after[key]).padStart(8)].join(' ')
  return [
    `${f.cycles} mount/unmount cycles, ${f.inFlight} in flight on the main thread ` +
      `plus two workers, in ${f.seconds} s`,
    `${''.padEnd(14)} ${'before'.padStart(8)} ${'after'.padStart(8)}`,
    row('descriptors', 'descriptors'),
    row('threads', 'threads'),
    row('overlay mounts', 'overlays'),
    row('resident MiB', 'rssMiB'),
    `resident memory bound: +${f.rssBoundMiB} MiB`,
    `canary: ${f.canaryReads} relative reads and cwd checks, ${f.canaryMisses} misses`,
    `failures: ${f.failures.length}${f.failures.length ? ` (first: ${f.failures[0]})` : ''}`,
    f.ok ? 'soak: ok' : 'soak: FAILED',
  ].join('\n')
}

if (require.main === module) {
  const cycles = Number(process.env.SOAK_CYCLES ?? 10000)
  const inFlight = Number(process.env.SOAK_IN_FLIGHT ?? 64)
  soak(cycles, inFlight).then(
    (f) => {
      console.log(report(f))
      if (process.argv.includes('--json')) console.log(JSON.stringify(f))
      process.exitCode = f.ok ? 0 : 1
    },
    (err) => {
      console.error(`soak failed: ${err instanceof Error ? err.stack : String(err)}`)
      process.exitCode = 1
    },
  )
}
