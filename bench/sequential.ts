/**
 * Sequential mount+unmount cycles of every approach on every layer set, interleaved round
 * by round: each round runs a few cycles of each approach, in an order shuffled anew each
 * round, so that a noisy moment on a shared machine, or the wake of the approach before
 * (mount(8)'s fork and exec leave cold caches), falls on every approach alike.
 */
import type { NativeMountRequest } from '../dist/native'
import type { Approach } from './approaches'
import type { NativeLoop } from './native-loop'
import { median, timed } from './stats'

export interface Timing {
  approach: Approach
  /** Every cycle's time after the warm-up round, in nanoseconds. */
  samples: number[]
  /** Their median, in nanoseconds: the native loop's as it printed it. */
  medianNs: number
}

export interface SequentialPlan {
  approaches: Approach[]
  /** Measured rounds, after one warm-up round that is not counted. */
  rounds: number
  /** Cycles of each approach per round. */
  cycles: number
  /** The native loop, serving one case per `native` approach, in the order of `approaches`. */
  loop: NativeLoop
  log: (line: string) => void
}

async function batch(a: Approach, index: number, p: SequentialPlan): Promise<number[]> {
  if (a.request) return p.loop.batch(index, p.cycles)
  const times = []
  for (let i = 0; i < p.cycles; i++) times.push(await timed(a.cycle!))
  return times
}

/** A reproducible shuffle of `items` (mulberry32 from `seed`, then Fisher-Yates). */
export function shuffled<T>(items: readonly T[], seed: number): T[] {
  let state = seed >>> 0
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

/** Runs every approach that can carry its set; the others get no samples. */
export async function runSequential(p: SequentialPlan): Promise<Timing[]> {
  const runnable = p.approaches.filter((a) => a.skip === null)
  const nativeIndex = new Map(runnable.filter((a) => a.request).map((a, i) => [a, i]))
  const samples = new Map<Approach, number[]>(runnable.map((a) => [a, []]))

  for (let round = 0; round <= p.rounds; round++) {
    for (const a of shuffled(runnable, round + 1)) {
      const times = await batch(a, nativeIndex.get(a) ?? -1, p)
      if (round > 0) samples.get(a)!.push(...times)
    }
    if (round === 0) await p.loop.reset()
    p.log(round === 0 ? 'sequential: warm-up done' : `sequential: round ${round}/${p.rounds}`)
  }

  const summary = await p.loop.finish()
  return p.approaches.map((approach) => {
    const taken = samples.get(approach) ?? []
    const printed = summary.medians[approach.id]
    const medianNs = approach.request ? printed : median(taken)
    return { approach, samples: taken, medianNs: medianNs ?? NaN }
  })
}

export interface NativeCase {
  id: string
  request: NativeMountRequest
}

/** The cases the native loop serves, for `runSequential`'s indices. */
export function nativeCases(approaches: Approach[]): NativeCase[] {
  return approaches
    .filter((a) => a.skip === null && a.request)
    .map((a) => ({ id: a.id, request: a.request! }))
}
