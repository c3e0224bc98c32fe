/**
 * `npm run bench`: mounts every layer set every way, side by side in one run, and reports
 * the ratios. Runs as root in a private mount namespace; everything it mounts is under a
 * temporary directory that it creates and removes.
 *
 *   node --import=tsx bench/run.ts [--smoke] [--rounds N] [--binary FILE] [--out DIR]
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, release, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

import { probeSync, unmount } from '../dist'
import { approachesFor } from './approaches'
import { svg } from './chart'
import { throughput, underLoad } from './in-flight'
import { layLayerSets, layReadFile, laySlots } from './layer-sets'
import { mainThreadCosts } from './main-thread'
import { NativeLoop } from './native-loop'
import { markdown, summarize } from './report'
import type { BenchResult } from './report'
import { nativeCases, runSequential } from './sequential'

export interface BenchOptions {
  layerCounts: number[]
  /** Measured rounds of the sequential cycles, after one warm-up round. */
  rounds: number
  /** Cycles of each approach per round. */
  cycles: number
  /** Mounts in flight for the event-loop and `node:fs` measurement. */
  inFlight: number
  /** Loaded phases (each with a baseline phase) of that measurement. */
  loadRounds: number
  /** The layer set of the in-flight measurements. */
  loadLayers: number
  throughputLevels: number[]
  throughputCycles: number
  throughputRounds: number
  /** The `overlayfs-bench` binary. */
  binary: string
  /** The directory the temporary directory is made in. */
  workDir: string
  /** Where `latest.md` and `latest.svg` go, or null for nowhere. */
  resultsDir: string | null
  log: (line: string) => void
}

const REPO = resolve(__dirname, '..')

/** The full run. */
export const FULL: BenchOptions = {
  layerCounts: [2, 32, 128, 500],
  rounds: 20,
  cycles: 10,
  inFlight: 256,
  loadRounds: 5,
  loadLayers: 32,
  throughputLevels: [1, 2, 4, 16, 64],
  throughputCycles: 256,
  throughputRounds: 5,
  binary: join(REPO, 'target', 'release', 'overlayfs-bench'),
  workDir: tmpdir(),
  resultsDir: join(REPO, 'bench', 'results'),
  log: (line) => process.stderr.write(`${line}\n`),
}

/** A run of very few iterations that only shows that every part still works. */
export const SMOKE: BenchOptions = {
  ...FULL,
  rounds: 1,
  cycles: 1,
  loadRounds: 1,
  throughputCycles: 4,
  throughputRounds: 1,
  resultsDir: null,
}

/** Refuses to mount anything unless this process is in a private mount namespace. */
function assertPrivateNamespace(): void {
  const host = process.env.OVERLAYFS_HOST_MNT_NS
  if (!host || readlinkSync('/proc/self/ns/mnt') === host) {
    throw new Error('the benchmark mounts: run it in a private mount namespace (npm run bench)')
  }
}

/** Overlay mount points under `dir`, deepest first. */
function overlaysUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[f.indexOf('-') + 1] === 'overlay')
    .map((f) => f[4].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p.startsWith(`${dir}/`))
    .reverse()
}

/**
 * A temporary directory on a tmpfs of its own. On a disk filesystem, unmounting a writable
 * overlay syncs the whole upper filesystem, and the disk's latency would swamp every figure.
 */
function makeRoot(workDir: string): { root: string; remove(): Promise<void> } {
  const root = mkdtempSync(join(workDir, 'ovl-bench-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'mode=0700', 'tmpfs', root])
  const remove = async () => {
    for (const point of overlaysUnder(root)) await unmount(point, { detach: true }).catch(() => {})
    await unmount(root, { detach: true }).catch(() => {})
    rmSync(root, { recursive: true, force: true })
  }
  return { root, remove }
}

/** Runs the benchmark; writes the results if `resultsDir` is set. */
export async function runBench(
  o: BenchOptions,
): Promise<{ result: BenchResult; markdown: string; svg: string }> {
  assertPrivateNamespace()
  const { root, remove } = makeRoot(o.workDir)
  let loop: NativeLoop | null = null
  try {
    o.log(`laying layer sets of ${o.layerCounts.join(', ')} layers in ${root}`)
    const sets = layLayerSets(root, o.layerCounts)
    const approaches = sets.flatMap(approachesFor)
    loop = new NativeLoop(o.binary, join(root, 'cases'), nativeCases(approaches))
    const timings = await runSequential({
      approaches,
      rounds: o.rounds,
      cycles: o.cycles,
      loop,
      log: o.log,
    })

    const loadSet = layLayerSets(join(root, 'load'), [o.loadLayers])[0]
    const slots = laySlots(join(root, 'slots'), Math.max(o.inFlight, ...o.throughputLevels))
    o.log(`${o.inFlight} mounts in flight: event-loop delay and node:fs reads`)
    const load = await underLoad(
      loadSet,
      slots.slice(0, o.inFlight),
      layReadFile(root),
      o.loadRounds,
    )
    o.log(`throughput at ${o.throughputLevels.join(', ')} mounts in flight`)
    const levels = o.throughputLevels
    const rates = await throughput(loadSet, slots, levels, o.throughputCycles, o.throughputRounds)
    o.log('event-loop time per mount() call')
    const mainThread = await mainThreadCosts(sets, o.rounds)

    const features = probeSync()
    const result = summarize({
      machine: {
        kernel: release(),
        node: process.version,
        cpus: cpus().length,
        pageSize: features.pageSize,
        date: new Date().toISOString().slice(0, 10),
      },
      settings: {
        rounds: o.rounds,
        cycles: o.cycles,
        inFlight: o.inFlight,
        loadRounds: o.loadRounds,
        loadLayers: o.loadLayers,
        throughputCycles: o.throughputCycles,
        throughputRounds: o.throughputRounds,
      },
      timings,
      load,
      throughput: rates,
      mainThread,
    })
    const text = markdown(result)
    const chart = svg(result)
    if (o.resultsDir) {
      mkdirSync(o.resultsDir, { recursive: true })
      writeFileSync(join(o.resultsDir, 'latest.md'), text)
      writeFileSync(join(o.resultsDir, 'latest.svg'), chart)
    }
    return { result, markdown: text, svg: chart }
  } finally {
    loop?.kill()
    await remove()
  }
}

async function main(args: string[]): Promise<void> {
  const options = { ...(args.includes('--smoke') ? SMOKE : FULL) }
  const value = (flag: string) => {
    const at = args.indexOf(flag)
    return at >= 0 ? args[at + 1] : undefined
  }
  const out = value('--out')
  if (out !== undefined) options.resultsDir = resolve(out)
  const rounds = value('--rounds')
  if (rounds !== undefined) options.rounds = Number(rounds)
  const binary = value('--binary')
  if (binary !== undefined) options.binary = resolve(binary)
  const { markdown: text } = await runBench(options)
  process.stdout.write(`${text}\n`)
  if (options.resultsDir) process.stdout.write(`written to ${options.resultsDir}\n`)
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(
      `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    )
    process.exitCode = 1
  })
}
