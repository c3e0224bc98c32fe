/**
 * Many mounts in flight at once: the event loop's delay and the latency of `node:fs` reads
 * while they run, each against a baseline phase without mounts, and the throughput at a
 * given number of mounts in flight.
 */
import { closeSync, openSync, read } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { IntervalHistogram } from 'node:perf_hooks'

import { mount } from '../dist'
import { mountOptions } from './layer-sets'
import type { LayerSet, Slot } from './layer-sets'
import { median, now, percentile } from './stats'

/** The histogram's sampling interval in ms: each sample is this interval plus the delay. */
const RESOLUTION_MS = 1
/** `node:fs` reads issued together on each tick of the read probe: libuv's pool size. */
const READS_PER_TICK = 4

export interface DelaySummary {
  /** Event-loop delay beyond the sampling interval, in ms. */
  p50: number
  p99: number
  max: number
}

export interface ReadSummary {
  /** Latency of one `node:fs` read of a page, in µs. */
  p50: number
  p99: number
  reads: number
}

export interface LoadResult {
  inFlight: number
  layers: number
  baseline: { eventLoop: DelaySummary; fsRead: ReadSummary }
  loaded: { eventLoop: DelaySummary; fsRead: ReadSummary }
  /** Mount+unmount cycles completed under load. */
  cycles: number
}

export interface ThroughputResult {
  inFlight: number
  layers: number
  /** Median over rounds of mount+unmount cycles per second. */
  cyclesPerSecond: number
}

/**
 * Pools the phases' histograms: p50 and p99 are the medians of the phases' own, max is the
 * largest of all. (A histogram is made per phase: one enabled again would count the time
 * it was disabled as one long delay.)
 */
function delaySummary(phases: IntervalHistogram[]): DelaySummary {
  const beyond = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS)
  const of = (p: number) => median(phases.map((h) => beyond(h.percentile(p))))
  return { p50: of(50), p99: of(99), max: Math.max(...phases.map((h) => beyond(h.max))) }
}

function readSummary(latencies: number[]): ReadSummary {
  const us = (ns: number) => ns / 1e3
  const reads = latencies.length
  return { p50: us(percentile(latencies, 50)), p99: us(percentile(latencies, 99)), reads }
}

/** Reads one page of `file` READS_PER_TICK times each millisecond until stopped. */
function readProbe(file: string): { stop(): Promise<number[]> } {
  const fd = openSync(file, 'r')
  const latencies: number[] = []
  let outstanding = 0
  let settled: (() => void) | null = null
  const tick = () => {
    for (let i = 0; i < READS_PER_TICK; i++) {
      const start = now()
      outstanding++
      read(fd, Buffer.allocUnsafe(4096), 0, 4096, 0, (err) => {
        if (err) throw err
        latencies.push(now() - start)
        if (--outstanding === 0) settled?.()
      })
    }
  }
  const timer = setInterval(tick, 1)
  return {
    async stop() {
      clearInterval(timer)
      if (outstanding > 0) await new Promise<void>((resolve) => (settled = resolve))
      closeSync(fd)
      return latencies
    },
  }
}

/** All of `slots` mounted at once through the package, then all unmounted at once. */
async function wave(set: LayerSet, slots: readonly Slot[]): Promise<void> {
  const mounted = await Promise.all(slots.map((s) => mount(mountOptions(set, 'auto', s))))
  await Promise.all(mounted.map((m) => m.unmount()))
}

/**
 * Alternates baseline phases (the probes alone, as long as the loaded phase before) with
 * loaded phases (a wave of `slots.length` mounts in flight, then their unmounts).
 */
export async function underLoad(
  set: LayerSet,
  slots: readonly Slot[],
  readFile: string,
  rounds: number,
): Promise<LoadResult> {
  const histograms: IntervalHistogram[][] = [[], []]
  const latencies: number[][] = [[], []]
  let phaseMs = 100
  await wave(set, slots)
  for (let round = 0; round < rounds * 2; round++) {
    const loaded = round % 2 === 1
    const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
    histograms[Number(loaded)].push(h)
    const probe = readProbe(readFile)
    h.enable()
    const start = now()
    if (loaded) await wave(set, slots)
    else await new Promise((resolve) => setTimeout(resolve, phaseMs))
    if (loaded) phaseMs = Math.max(20, (now() - start) / 1e6)
    h.disable()
    latencies[Number(loaded)].push(...(await probe.stop()))
  }
  const phase = (i: number) => ({
    eventLoop: delaySummary(histograms[i]),
    fsRead: readSummary(latencies[i]),
  })
  const inFlight = slots.length
  return {
    inFlight,
    layers: set.layers,
    baseline: phase(0),
    loaded: phase(1),
    cycles: inFlight * rounds,
  }
}

/** `cycles` mount+unmount cycles by `inFlight` loops at once; resolves to cycles per second. */
async function throughputOnce(
  set: LayerSet,
  slots: readonly Slot[],
  cycles: number,
): Promise<number> {
  let left = cycles
  const loop = async (slot: Slot) => {
    while (left > 0) {
      left--
      const m = await mount(mountOptions(set, 'auto', slot))
      await m.unmount()
    }
  }
  const start = now()
  await Promise.all(slots.map(loop))
  return cycles / ((now() - start) / 1e9)
}

/** Throughput at each level of mounts in flight, the levels interleaved round by round. */
export async function throughput(
  set: LayerSet,
  slots: readonly Slot[],
  levels: readonly number[],
  cycles: number,
  rounds: number,
): Promise<ThroughputResult[]> {
  const rates = levels.map((): number[] => [])
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < levels.length; i++) {
      const at = (round + i) % levels.length
      const n = levels[at]
      rates[at].push(await throughputOnce(set, slots.slice(0, n), Math.max(cycles, 2 * n)))
    }
  }
  return levels.map((inFlight, i) => ({
    inFlight,
    layers: set.layers,
    cyclesPerSecond: median(rates[i]),
  }))
}
