/**
 * The layer sets the benchmark mounts: Docker-like stores (`overlay2/<64 hex digits>/diff`)
 * under the benchmark's temporary directory, each writable with its own upper and work.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import type { MountOptions, Strategy } from '../dist'
import { dockerStore } from '../dist/example/store'
import type { Store } from '../dist/example/store'

export interface LayerSet {
  layers: number
  store: Store
}

/** Where one of several concurrent mounts of a layer set goes, with its own upper and work. */
export interface Slot {
  upper: string
  work: string
  target: string
}

/** Lays one store per layer count under `root`. */
export function layLayerSets(root: string, counts: readonly number[]): LayerSet[] {
  return counts.map((layers) => ({
    layers,
    store: dockerStore(join(root, `set-${layers}`), layers),
  }))
}

/** The package's mount options for `set`, with `strategy` (or `auto`). */
export function mountOptions(
  set: LayerSet,
  strategy: 'auto' | Strategy,
  slot?: Slot,
): MountOptions {
  const { lower, upper, work, target } = set.store
  return { lower, upper, work, target, ...slot, strategy }
}

/** `count` slots under `root`, so that as many mounts of one set can be in flight at once. */
export function laySlots(root: string, count: number): Slot[] {
  return Array.from({ length: count }, (_, i) => {
    const [upper, work, target] = ['upper', 'work', 'merged'].map((n) => join(root, String(i), n))
    for (const dir of [upper, work, target]) mkdirSync(dir, { recursive: true })
    return { upper, work, target }
  })
}

/** A file of one page for the `node:fs` reads to read while mounts are in flight. */
export function layReadFile(root: string): string {
  const file = join(root, 'read-me')
  writeFileSync(file, Buffer.alloc(4096, 'x'))
  return file
}
