/**
 * Layer sets for the real-mount tests of C01-C04, and the checks that a mount shows exactly
 * those layers. Every layer holds a marker file of its own and a file `top` that every layer
 * has, so the merged view proves both which layers are there and in what order.
 */
import { mkdirSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import type { ExecutionContext } from 'ava'

import { findMount, probeSync } from '../../src'
import type { Features, Mounted } from '../../src'
import { overlaysUnder } from './sandbox'

/** The file every layer has; the merged view shows the top-most layer's. */
export const TOP = 'top'

/** The marker file of the i-th lower layer. */
export function marker(i: number): string {
  return `layer-${i}`
}

/** Creates each lower layer with its marker and `top`; returns `lower` for chaining. */
export function layLower(lower: readonly string[]): string[] {
  lower.forEach((dir, i) => {
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, marker(i)), `${dir}\n`)
    writeFileSync(join(dir, TOP), `${dir}\n`)
  })
  return [...lower]
}

/** Creates empty directories (upper, work, target). */
export function makeDirs(...dirs: string[]): void {
  for (const dir of dirs) mkdirSync(dir, { recursive: true })
}

/** Asserts the merged view at `target` holds exactly the files of `lower`, top-most first. */
export function assertMerged(t: ExecutionContext, target: string, lower: readonly string[]): void {
  const expected = [TOP, ...lower.map((_, i) => marker(i))].sort()
  t.deepEqual(readdirSync(target).sort(), expected)
  lower.forEach((dir, i) => t.is(readFileSync(join(target, marker(i)), 'utf8'), `${dir}\n`))
  t.is(readFileSync(join(target, TOP), 'utf8'), `${lower[0]}\n`, 'lower[0] is the top-most')
}

/**
 * Asserts that mountinfo lists the overlay at `m.target` with exactly the layers planned:
 * legacy strategies list the mount data's paths, the new mount API one absolute path each.
 */
export async function assertListed(t: ExecutionContext, m: Mounted, lower: readonly string[]) {
  const entry = await findMount(m.target)
  if (!entry) return t.fail(`nothing is mounted at ${m.target}`)
  t.is(entry.fstype, 'overlay')
  const listed = m.strategy === 'fd' || m.strategy === 'lowerdir+' ? lower : m.plan.lower
  if (m.strategy === 'procfd') {
    t.is(entry.lowerdirs.length, lower.length)
    t.true(entry.lowerdirs.every((l) => /^\d+$/.test(l)), entry.lowerdirs.join(':'))
  } else {
    t.deepEqual(entry.lowerdirs, [...listed])
  }
}

/** Asserts that no overlay is mounted anywhere under `dir`. */
export async function assertNothingMounted(t: ExecutionContext, dir: string, target: string) {
  t.deepEqual(overlaysUnder(dir), [])
  t.is(await findMount(target), null)
}

/** The process's working directory as the kernel sees it, and as Node reports it. */
function cwds(): string[] {
  return [process.cwd(), readlinkSync('/proc/self/cwd')]
}

/**
 * Runs `work` while checking the process's working directory on every turn of the event
 * loop; asserts it never differs from what it was before.
 */
export async function keepingCwd<T>(t: ExecutionContext, work: () => Promise<T>): Promise<T> {
  const before = cwds()
  const seen = new Set<string>()
  let done = false
  const watch = async () => {
    while (!done) {
      for (const cwd of cwds()) seen.add(cwd)
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
  const watching = watch()
  try {
    return await work()
  } finally {
    done = true
    await watching
    for (const cwd of cwds()) seen.add(cwd)
    t.deepEqual([...seen], [...new Set(before)], 'the working directory never changed')
  }
}

/** The running kernel's features as a kernel without the new mount API would have them. */
export function legacyKernel(base: Features = probeSync()): Features {
  return {
    ...base,
    release: '5.1.0-legacy',
    newMountApi: false,
    lowerdirPlus: false,
    fdLayers: false,
    oPathFds: false,
  }
}

/** The strategy `auto` takes on the running kernel when the layers fit the new mount API. */
export function newApiStrategy(f: Features = probeSync()): 'fd' | 'lowerdir+' | null {
  return f.fdLayers ? 'fd' : f.lowerdirPlus ? 'lowerdir+' : null
}
