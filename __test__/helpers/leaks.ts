/**
 * What a failed call may not leave behind, counted from /proc: mounts and overlay mounts
 * that touch a test's own directory, open descriptors and threads of this process, and the
 * entries of a directory tree. Other test files mount in the same namespace at the same
 * time, so mounts are counted only where they touch the test's directory; descriptors and
 * threads are this process's own, and are only comparable between calls that nothing else
 * in the process runs beside: the tests that use them are serial, and warm up first
 * (libuv's pool and the core's mount threads start on first use and stay).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, readdirSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'

import type { ExecutionContext } from 'ava'

import { mount } from '../../src'

interface MountLine {
  mountPoint: string
  fstype: string
  /** The super options, still escaped as mountinfo escapes them. */
  superOptions: string
}

/** Undoes mountinfo's octal escapes (`\040` for a space). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)))
}

/** Each line of this process's mountinfo. */
function mountinfo(): MountLine[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const f = line.split(' ')
      const dash = f.indexOf('-')
      return { mountPoint: unescape(f[4]), fstype: f[dash + 1], superOptions: f[dash + 3] }
    })
}

/** Whether `path` is `dir` or inside it. */
function under(dir: string, path: string): boolean {
  return path === dir || path.startsWith(`${dir}/`)
}

/** Mounts on `dir` or inside it. */
export function mountsUnder(dir: string): number {
  return mountinfo().filter((m) => under(dir, m.mountPoint)).length
}

/** Overlay mounts on `dir` or inside it, or naming it in their options. */
export function overlaysTouching(dir: string): number {
  const touches = (m: MountLine) =>
    under(dir, m.mountPoint) || unescape(m.superOptions).includes(dir)
  return mountinfo().filter((m) => m.fstype === 'overlay' && touches(m)).length
}

/** Open descriptors of this process. */
export function fdCount(): number {
  return readdirSync('/proc/self/fd').length
}

/** Threads of this process. */
export function threadCount(): number {
  return readdirSync('/proc/self/task').length
}

/** Every entry under `dir`, by relative path, sorted; symlinks are listed, not followed. */
export function entries(dir: string): string[] {
  const out: string[] = []
  const visit = (path: string, rel: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = rel === '' ? entry.name : `${rel}/${entry.name}`
      out.push(child)
      if (entry.isDirectory()) visit(join(path, entry.name), child)
    }
  }
  visit(dir, '')
  return out.sort()
}

/** What each open descriptor of this process refers to, by number. */
export function fdTargets(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out[fd] = readlinkSync(join('/proc/self/fd', fd))
    } catch {
      // The descriptor that listed the directory is closed by now.
    }
  }
  return out
}

/** The counts a failed call must leave as they were. */
export interface Counts {
  /** Mounts on the directory the counts were taken for, or inside it. */
  mounts: number
  /** Overlays mounted there, or naming it in their options. */
  overlays: number
  fds: number
  /** Each descriptor's number and what it refers to. */
  fdTargets: Record<string, string>
  threads: number
  entries: string[]
}

/** The counts now, with the entries of `dir`. */
export function counts(dir: string): Counts {
  return {
    mounts: mountsUnder(dir),
    overlays: overlaysTouching(dir),
    fds: fdCount(),
    fdTargets: fdTargets(),
    threads: threadCount(),
    entries: entries(dir),
  }
}

/**
 * Descriptors open in `after` that were not in `before` (a new number, or a number reused
 * for something else). Node may close one of its own meanwhile, so counts alone could let
 * a leak hide behind it; this cannot.
 */
export function newFds(before: Counts, after: Counts): string[] {
  return Object.entries(after.fdTargets)
    .filter(([fd, target]) => before.fdTargets[fd] !== target)
    .map(([fd, target]) => `${fd} -> ${target}`)
}

/**
 * Asserts that nothing taken between `before` and `after` was left behind: no mount, no
 * overlay, no directory entry, no new descriptor (and, with `threads`, no thread).
 */
export function assertNothingLeft(
  t: ExecutionContext,
  before: Counts,
  after: Counts,
  { threads = false } = {},
): void {
  t.is(after.mounts, before.mounts, 'no mount is left over')
  t.is(after.overlays, before.overlays, 'no overlay is left over')
  if (threads) t.is(after.threads, before.threads, 'no thread is left over')
  t.deepEqual(after.entries, before.entries, 'no directory or file is left over')
  t.deepEqual(newFds(before, after), [], 'no descriptor is left over')
  t.true(after.fds <= before.fds, `${after.fds} descriptors after, ${before.fds} before`)
}

/**
 * Starts what stays once started: every mount thread the core's pool may grow to (mounts
 * in flight at once), its probe, and libuv's pool (an async fs call), so that later counts
 * compare like with like.
 */
export async function warmUp(dir: string): Promise<void> {
  const root = join(dir, 'warm-up')
  const [top, bottom] = ['top', 'bottom'].map((n) => join(root, n))
  const targets = Array.from({ length: 8 }, (_, i) => join(root, `target-${i}`))
  for (const d of [top, bottom, ...targets]) mkdirSync(d, { recursive: true })
  const lower = [top, bottom]
  const mounted = await Promise.all(targets.map((target) => mount({ lower, target })))
  await Promise.all(mounted.map((m) => m.unmount()))
  await mount({ lower: [join(root, 'missing'), top], target: targets[0] }).catch(() => {})
  await import('node:fs/promises').then((fs) => fs.readdir(root))
  execFileSync('rm', ['-rf', root])
}

/**
 * Mounts a tmpfs on `dir` (created if missing), unmounted when the test ends. Only ever
 * called under a sandbox, which has already checked that this is a private namespace.
 */
export function tmpfs(t: ExecutionContext, dir: string): string {
  mkdirSync(dir, { recursive: true })
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'ovl-test', dir])
  t.teardown(() => execFileSync('umount', ['-l', dir]))
  return dir
}
