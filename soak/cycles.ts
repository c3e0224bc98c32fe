/**
 * The soak's unit of work: mount/unmount cycles over every strategy, a fixed number in
 * flight, with a canary that keeps doing relative-path node:fs reads and checking
 * process.cwd() the whole time. Runs the same on the main thread and in a worker.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { threadId } from 'node:worker_threads'

import { STRATEGIES, mount } from '../src'
import { containerdStore } from '../src/example/store'
import type { Store } from '../src/example/store'

export interface CycleFigures {
  cycles: number
  failures: string[]
  canaryReads: number
  canaryMisses: number
}

/**
 * Lays a canary file in `dir` and returns its path relative to the process's working
 * directory, which is how the canary reads it: a moved cwd would make it miss.
 */
export function layCanary(dir: string): string {
  const file = join(dir, `canary-${process.pid}-${threadId}.txt`)
  const name = relative(process.cwd(), file)
  writeFileSync(file, name)
  return name
}

/** Runs `cycles` mount+unmount cycles, `inFlight` at a time, each on its own store. */
export async function runCycles(
  root: string,
  cycles: number,
  inFlight: number,
  canaryFile: string,
): Promise<CycleFigures> {
  const cwd = process.cwd()
  const figures: CycleFigures = { cycles: 0, failures: [], canaryReads: 0, canaryMisses: 0 }
  let running = true
  const canary = (async () => {
    while (running) {
      const text = await readFile(canaryFile, 'utf8').catch(() => '')
      figures.canaryReads++
      if (text !== canaryFile || process.cwd() !== cwd) figures.canaryMisses++
    }
  })()

  const stores: Store[] = Array.from({ length: inFlight }, (_, i) => {
    mkdirSync(join(root, `slot-${i}`), { recursive: true })
    return containerdStore(join(root, `slot-${i}`), 4 + (i % 8))
  })
  let next = 0
  const slot = async (store: Store) => {
    while (next < cycles) {
      const strategy = STRATEGIES[next++ % STRATEGIES.length]
      try {
        const m = await mount({ ...store, strategy })
        await m.unmount()
        figures.cycles++
      } catch (err) {
        figures.failures.push(`${strategy}: ${(err as Error).message}`)
      }
    }
  }
  await Promise.all(stores.map(slot))
  running = false
  await canary
  return figures
}
