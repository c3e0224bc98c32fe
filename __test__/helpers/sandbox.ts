/**
 * What every mounting test stands on: a check that it runs in a private mount namespace,
 * and temporary directories that are unmounted and removed even when a test fails.
 */
import { mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { ExecutionContext } from 'ava'

import { unmount } from '../../src'

/**
 * Throws unless this process runs in a mount namespace other than the one `npm test` was
 * started in (the script records that one in OVERLAYFS_HOST_MNT_NS before `unshare`).
 */
export function assertPrivateNamespace(): void {
  const host = process.env.OVERLAYFS_HOST_MNT_NS
  if (!host || readlinkSync('/proc/self/ns/mnt') === host) {
    throw new Error('mounting tests must run in a private mount namespace: use `npm test`')
  }
}

/** Overlay mount points under `dir`, deepest first, read from mountinfo. */
export function overlaysUnder(dir: string): string[] {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
  const points = lines
    .map((l) => l.split(' '))
    .filter((f) => f[f.indexOf('-') + 1] === 'overlay')
    .map((f) => f[4].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
  return points.filter((p) => p === dir || p.startsWith(`${dir}/`)).reverse()
}

/** A temporary directory for one test; everything mounted under it is detached at the end. */
export function sandbox(t: ExecutionContext, name = 'ovl'): string {
  assertPrivateNamespace()
  const dir = mkdtempSync(join(tmpdir(), `${name}-`))
  t.teardown(async () => {
    for (const point of overlaysUnder(dir)) await unmount(point, { detach: true }).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })
  return dir
}

/** Open descriptors of this process. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length
}
