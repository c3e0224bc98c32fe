/**
 * Many mounts in flight at once: the event loop's delay and the latency of `node:fs` reads
 * while they run, each against a baseline phase without mounts, and the throughput at a
 * given number of mounts in flight.
 */
import { closeSync, openSync, read } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { IntervalHistogram } from 'node:perf_hooks'

import { mount } from '../dist'
import type { MountOptions } from '../dist'
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

export interface Phase {
  eventLoop: DelaySummary
  fsRead: ReadSummary
}

export interface LoadResult {
  inFlight: number
  layers: number
  baseline: Phase
  /** Writable mounts in flight, each with its own upper and work. */
  loaded: Phase
  /** Read-only mounts in flight (no upper, no work, so no in-use check of either). */
  readOnly: Phase
}

export interface ThroughputResult {
  inFlight: number
  layers: number
  /** Median over rounds of mount+unmount cycles per second, writable. */
  cyclesPerSecond: number
  /** The same, read-only. */
  readOnlyCyclesPerSecond: number
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

/** The package's options for one slot: writable with the slot's upper and work, or not. */
function slotOptions(set: LayerSet, slot: Slot, writable: boolean): MountOptions {
  if (writable) return mountOptions(set, 'auto', slot)
  return { lower: set.store.lower, target: slot.target, strategy: 'auto' }
}

/** All of `slots` mounted at once through the package, then all unmounted at once. */
async function wave(set: LayerSet, slots: readonly Slot[], writable: boolean): Promise<void> {
  const options = slots.map((s) => slotOptions(set, s, writable))
  const mounted = await Promise.all(options.map((o) => mount(o)))
  await Promise.all(mounted.map((m) => m.unmount()))
}

/**
 * Cycles through three phases per round: a baseline (the probes alone, as long as the
 * loaded phase before it), a wave of `slots.length` writable mounts in flight then their
 * unmounts, and the same wave read-only.
 */
export async function underLoad(
  set: LayerSet,
  slots: readonly Slot[],
  readFile: string,
  rounds: number,
): Promise<LoadResult> {
  const histograms: IntervalHistogram[][] = [[], [], []]
  const latencies: number[][] = [[], [], []]
  let phaseMs = 100
  await wave(set, slots, true)
  for (let round = 0; round < rounds * 4; round++) {
    // Baseline, writable, baseline, read-only: each loaded phase has a baseline before it.
    const kind = round % 2 === 0 ? 0 : round % 4 === 1 ? 1 : 2
    const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS })
    histograms[kind].push(h)
    const probe = readProbe(readFile)
    h.enable()
    // A histogram skips its first interval: let it take one before the phase's work starts,
    // or a burst of work at the very start of the phase would go unseen.
    await new Promise((resolve) => setTimeout(resolve, 3 * RESOLUTION_MS))
    const start = now()
    if (kind === 0) await new Promise((resolve) => setTimeout(resolve, phaseMs))
    else await wave(set, slots, kind === 1)
    if (kind !== 0) phaseMs = Math.max(20, (now() - start) / 1e6)
    h.disable()
    latencies[kind].push(...(await probe.stop()))
  }
  const phase = (i: number): Phase => ({
    eventLoop: delaySummary(histograms[i]),
    fsRead: readSummary(latencies[i]),
  })
  return {
    inFlight: slots.length,
    layers: set.layers,
    baseline: phase(0),
    loaded: phase(1),
    readOnly: phase(2),
  }
}

/** `cycles` mount+unmount cycles by `slots.length` loops at once, in cycles per second. */
async function throughputOnce(
  set: LayerSet,
  slots: readonly Slot[],
  cycles: number,
  writable: boolean,
): Promise<number> {
  let left = cycles
  const loop = async (slot: Slot) => {
    const options = slotOptions(set, slot, writable)
    while (left > 0) {
      left--
      const m = await mount(options)
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
  const rates = levels.map((): [number[], number[]] => [[], []])
  const runs = levels.flatMap((n, at) => [true, false].map((writable) => ({ n, at, writable })))
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < runs.length; i++) {
      const { n, at, writable } = runs[(round + i) % runs.length]
      const rate = await throughputOnce(set, slots.slice(0, n), Math.max(cycles, 2 * n), writable)
      rates[at][writable ? 0 : 1].push(rate)
    }
  }
  return levels.map((inFlight, i) => ({
    inFlight,
    layers: set.layers,
    cyclesPerSecond: median(rates[i][0]),
    readOnlyCyclesPerSecond: median(rates[i][1]),
  }))
}
