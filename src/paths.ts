/**
 * The caller's layer paths: each checked and normalized, and each list of them checked
 * once per array. A layer set is typically mounted many times, for one container after
 * another, from the same `lower` array: its checked form is kept with a copy of what it
 * held, and used again while the array still holds exactly that. The checked paths are
 * frozen, so that the plans sharing them cannot change them.
 */
import { posix } from 'node:path'

import { invalid } from './errors'

/**
 * Checks a path the caller gave for `kind` (`lower[index]` when an index is given) and
 * returns it normalized. The role's name is only spelled out for an error.
 */
export function checkPath(value: unknown, kind: string, index?: number): string {
  if (typeof value === 'string' && value.startsWith('/') && !value.includes('\0')) {
    if (isNormal(value)) return value
    const normal = posix.normalize(value)
    return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal
  }
  const role = index === undefined ? kind : `${kind}[${index}]`
  if (typeof value !== 'string') throw invalid(`${role} must be a string, got ${typeof value}`)
  if (value === '') throw invalid(`${role} is an empty path`, value)
  if (value.includes('\0')) {
    // Shown as `\0`: a raw NUL would cut the message wherever it is printed as a C string.
    const shown = value.replace(/\0/g, '\\0')
    throw invalid(`${role} '${shown}' contains a NUL byte`, value)
  }
  throw invalid(`${role} '${value}' is a relative path; give an absolute one`, value)
}

/** `//`, or `.` or `..` as a whole component: what `posix.normalize` would change. */
const UNNORMAL = /\/\/|\/\.\.?(?:\/|$)/

/**
 * Whether the absolute `path` is already what `checkPath` would make of it, so that most
 * paths, which are, skip the normalizing copy (layer paths are checked on every mount).
 */
export function isNormal(path: string): boolean {
  return !UNNORMAL.test(path) && (path.length === 1 || !path.endsWith('/'))
}

/** A list of layer paths, checked and normalized, with where each path first occurs. */
export interface CheckedList {
  readonly paths: readonly string[]
  readonly first: ReadonlyMap<string, number>
}

const EMPTY: CheckedList = { paths: Object.freeze([]), first: new Map() }

/** Each array checked so far, with a copy of its items then. */
const known = new WeakMap<readonly unknown[], { items: readonly unknown[]; list: CheckedList }>()

function sameItems(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** `given` checked as the caller's `kind` list (`lower` or `data`); throws if a path is bad. */
export function checkedList(given: readonly unknown[], kind: string): CheckedList {
  if (given.length === 0) return EMPTY
  const hit = known.get(given)
  if (hit && sameItems(hit.items, given)) return hit.list
  // Each item is read once, into a plain copy that is both checked and kept: an array whose
  // own methods or getters answer differently from one read to the next cannot make the
  // check and the copy disagree. A hole reads as undefined, and is refused as not a string.
  const items: unknown[] = []
  for (let i = 0; i < given.length; i++) items.push(given[i])
  const paths = Object.freeze(items.map((p, i) => checkPath(p, kind, i)))
  const first = new Map<string, number>()
  for (let i = paths.length - 1; i >= 0; i--) first.set(paths[i], i)
  const list = { paths, first }
  known.set(given, { items, list })
  return list
}
