/**
 * Directory trees as the tests see them: a walk of one tree, and the union the kernel owes
 * for a stack of layers, computed here without the kernel.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import type { Stats } from 'node:fs'
import { join } from 'node:path'

export type Kind = 'dir' | 'file' | 'symlink' | 'other'

/** One entry of a tree: its kind and the absolute path it was read from. */
export interface Entry {
  kind: Kind
  path: string
}

function kindOf(st: Stats): Kind {
  if (st.isDirectory()) return 'dir'
  if (st.isFile()) return 'file'
  if (st.isSymbolicLink()) return 'symlink'
  return 'other'
}

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path)
  } catch {
    return null
  }
}

/** Every entry under `root`, by path relative to it, never following a symlink. */
export function walk(root: string): Map<string, Entry> {
  const out = new Map<string, Entry>()
  const visit = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      const childRel = rel === '' ? name : `${rel}/${name}`
      const kind = kindOf(lstatSync(path))
      out.set(childRel, { kind, path })
      if (kind === 'dir') visit(path, childRel)
    }
  }
  visit(root, '')
  return out
}

/**
 * The merged view overlayfs owes for `layers` (top-most first) holding no whiteouts and no
 * opaque directories: per relative path the top-most layer that has it wins; a directory
 * merges with the directories below it down to the first layer that has a non-directory
 * there, which hides everything beneath.
 */
export function expectedUnion(layers: readonly string[]): Map<string, Entry> {
  const out = new Map<string, Entry>()
  const merge = (rel: string, dirs: string[]) => {
    const names = new Set<string>()
    for (const dir of dirs) for (const name of readdirSync(dir)) names.add(name)
    for (const name of [...names].sort()) {
      const childRel = rel === '' ? name : `${rel}/${name}`
      const present = dirs
        .map((dir) => join(dir, name))
        .map((path) => ({ path, st: lstatOrNull(path) }))
        .filter((p): p is { path: string; st: Stats } => p.st !== null)
      const top = present[0]
      const kind = kindOf(top.st)
      out.set(childRel, { kind, path: top.path })
      if (kind !== 'dir') continue
      const below = present.findIndex((p) => !p.st.isDirectory())
      merge(childRel, (below < 0 ? present : present.slice(0, below)).map((p) => p.path))
    }
  }
  merge('', [...layers])
  return out
}

/** What a comparison of two trees found; every list empty means they are the same. */
export interface TreeDiff {
  missing: string[]
  extra: string[]
  kind: string[]
  content: string[]
}

/** Compares the `actual` tree with the `expected` one by kind and by content. */
export function diffTrees(expected: Map<string, Entry>, actual: Map<string, Entry>): TreeDiff {
  const diff: TreeDiff = { missing: [], extra: [], kind: [], content: [] }
  for (const rel of expected.keys()) if (!actual.has(rel)) diff.missing.push(rel)
  for (const rel of actual.keys()) if (!expected.has(rel)) diff.extra.push(rel)
  for (const [rel, want] of expected) {
    const got = actual.get(rel)
    if (!got) continue
    if (got.kind !== want.kind) {
      diff.kind.push(`${rel}: ${got.kind}, expected ${want.kind}`)
    } else if (want.kind === 'file') {
      if (!readFileSync(got.path).equals(readFileSync(want.path))) diff.content.push(rel)
    } else if (want.kind === 'symlink') {
      if (readlinkSync(got.path) !== readlinkSync(want.path)) diff.content.push(rel)
    }
  }
  return diff
}
