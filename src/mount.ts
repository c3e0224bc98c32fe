/** Mounting and unmounting. Every syscall runs on the core's own mount threads. */
import { resolve } from 'node:path'

import { AbortError, ErrorCodes, fromNative } from './errors'
import type { Features } from './features'
import { native } from './native'
import type { NativeMountEntry } from './native'
import type { MountOptions, Strategy } from './options'
import { plan } from './planner'
import type { Plan } from './planner'
import { isNormal } from './paths'
import { room } from './turns'

export interface MountCallOptions {
  /** Aborts the mount. Before it starts: nothing is done. After: it is undone. */
  signal?: AbortSignal
  /** Plan for these features instead of the running kernel's (for tests and tools). */
  features?: Features
}

/** A mounted overlay. */
export interface Mounted {
  target: string
  strategy: Strategy
  /** Bytes of legacy mount data used (0 for the new mount API). */
  dataBytes: number
  pageSize: number
  /** Lower layers, data-only ones included. */
  layers: number
  /** The whole plan, with the reasons for the strategy. */
  plan: Plan
  unmount(options?: UnmountOptions): Promise<void>
}

export interface UnmountOptions {
  /** Detach lazily (`MNT_DETACH`): the mount goes at once, even if busy. */
  detach?: boolean
}

function abortError(signal: AbortSignal, mounted: boolean, cause?: unknown): AbortError {
  const why = mounted ? 'the overlay exists but could not be unmounted' : 'nothing is mounted'
  return new AbortError(`mount aborted: ${why}`, mounted, cause ?? signal.reason)
}

function isPlan(value: MountOptions | Plan): value is Plan {
  return typeof value === 'object' && value !== null && 'request' in value
}

/**
 * Plans and mounts an overlay. Resolves once the overlay is in place. Given a `Plan` from
 * `plan()` in place of options, it mounts that plan as it is: planning costs time on the
 * event loop that grows with the layers, so a layer set mounted many times is planned once.
 * The core checks every request again at the syscall, whoever planned it.
 */
export async function mount(
  options: MountOptions | Plan,
  call: MountCallOptions = {},
): Promise<Mounted> {
  const { signal } = call
  if (signal?.aborted) throw abortError(signal, false)
  // A burst of mounts is planned and submitted a slice per turn of the event loop.
  const wait = room()
  if (wait) {
    await wait
    if (signal?.aborted) throw abortError(signal, false)
  }
  const planned = isPlan(options) ? options : plan(options, call.features)

  const failure = await native().mount(planned.request)
  if (failure) {
    const err = fromNative(failure, `mount overlay on '${planned.target}' (${planned.strategy})`)
    // Aborted meanwhile: the caller asked for an AbortError, and nothing is mounted.
    throw signal?.aborted ? abortError(signal, false, err) : err
  }

  if (signal?.aborted) {
    const undo = await native().unmount(planned.target, true)
    // Not a mount point any more: the overlay is gone all the same.
    const mounted = undo !== null && undo.code !== ErrorCodes.NOT_MOUNTED
    throw abortError(signal, mounted, undo ?? undefined)
  }
  return {
    target: planned.target,
    strategy: planned.strategy,
    dataBytes: planned.dataBytes,
    pageSize: planned.pageSize,
    layers: planned.layers,
    plan: planned,
    unmount: (opts) => unmount(planned.target, opts),
  }
}

/** Unmounts the overlay (or any mount) at `target`, never following a symlink there. */
export async function unmount(target: string, options: UnmountOptions = {}): Promise<void> {
  const path = target.startsWith('/') && isNormal(target) ? target : resolve(target)
  const wait = room()
  if (wait) await wait
  const failure = await native().unmount(path, Boolean(options.detach))
  if (failure) throw fromNative(failure, `unmount '${path}'`)
}

/** The top-most mount at `target` in this process's mount namespace, or null. */
export async function findMount(target: string): Promise<NativeMountEntry | null> {
  return native().findMount(resolve(target))
}

/** Whether something is mounted at `target`. */
export async function isMounted(target: string): Promise<boolean> {
  return (await findMount(target)) !== null
}
