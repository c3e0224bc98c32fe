/**
 * Lays out layer stores the way container tools do, for the example and the tests:
 * containerd's `<root>/snapshots/<id>/fs` and Docker's `<root>/overlay2/<digest>/diff`.
 * Each layer holds one marker file named for it, so a merged view can be checked.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Store {
  /** The directory holding everything below. */
  root: string
  /** Lower layers, top-most first. */
  lower: string[]
  upper: string
  work: string
  target: string
  /** The marker file name in each lower layer, in the order of `lower`. */
  markers: string[]
  /** Removes the store (unmount first). */
  remove(): void
}

function lay(root: string, lower: string[]): Store {
  const markers = lower.map((_, i) => `layer-${i}`)
  lower.forEach((dir, i) => {
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, markers[i]), `${dir}\n`)
  })
  const [upper, work, target] = ['upper', 'work', 'merged'].map((n) => join(root, n))
  for (const dir of [upper, work, target]) mkdirSync(dir, { recursive: true })
  return {
    root,
    lower,
    upper,
    work,
    target,
    markers,
    remove: () => rmSync(root, { recursive: true, force: true }),
  }
}

/**
 * A containerd-like store: `count` layers `<root>/snapshots/<id>/fs`, top-most (highest id)
 * first, with ids counting up from `firstId`.
 */
export function containerdStore(root: string, count: number, firstId = 1): Store {
  const ids = Array.from({ length: count }, (_, i) => firstId + i).reverse()
  return lay(
    root,
    ids.map((id) => join(root, 'snapshots', String(id), 'fs')),
  )
}

/** A Docker-like store: `count` layers `<root>/overlay2/<64 hex digits>/diff`. */
export function dockerStore(root: string, count: number): Store {
  const digest = (i: number) => createHash('sha256').update(`layer ${i}`).digest('hex')
  return lay(
    root,
    Array.from({ length: count }, (_, i) => join(root, 'overlay2', digest(i), 'diff')),
  )
}
