/**
 * The approaches measured one mount+unmount at a time on each layer set: the package (`auto`
 * and each strategy forced, and `auto` planned once), its native binding on the pool and on
 * a fresh thread, two bare round trips to a mount thread, the native loop, and `mount(8)` by
 * fork and exec.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

import { OverlayError, STRATEGIES, mount, plan } from '../dist'
import type { Plan, Strategy } from '../dist'
import { native } from '../dist/native'
import type { NativeError, NativeMountRequest } from '../dist/native'
import { mountOptions } from './layer-sets'
import type { LayerSet } from './layer-sets'

const run = promisify(execFile)

export type Kind = 'package' | 'planned' | 'native' | 'pool' | 'fresh' | 'hops' | 'mount8'

export interface Approach {
  /** Unique in the run, e.g. `package fd 32`. */
  id: string
  kind: Kind
  layers: number
  /** The strategy asked for; `auto` for the package's default. */
  strategy: 'auto' | Strategy
  /** Why this approach cannot carry the layer set, or null. */
  skip: string | null
  /** What it was run with, where that varies (the strategy `auto` took, mount(8)'s data). */
  note: string
  /** One mount+unmount cycle, for the approaches timed from Node. */
  cycle: (() => Promise<void>) | null
  /** The request the native loop runs, for `native` approaches. */
  request: NativeMountRequest | null
}

function planFor(set: LayerSet, strategy: 'auto' | Strategy): Plan | OverlayError {
  try {
    return plan(mountOptions(set, strategy))
  } catch (err) {
    if (err instanceof OverlayError) return err
    throw err
  }
}

function check(failure: NativeError | null): void {
  if (failure) throw new Error(`${failure.code}: ${failure.message}`)
}

function approach(set: LayerSet, kind: Kind, strategy: 'auto' | Strategy): Approach {
  const id = `${kind} ${strategy} ${set.layers}`
  return {
    id,
    kind,
    layers: set.layers,
    strategy,
    skip: null,
    note: '',
    cycle: null,
    request: null,
  }
}

/** The package itself: plans and mounts with `mount()`, then unmounts, per cycle. */
function packageApproach(set: LayerSet, strategy: 'auto' | Strategy): Approach {
  const a = approach(set, 'package', strategy)
  const planned = planFor(set, strategy)
  if (planned instanceof OverlayError) return { ...a, skip: planned.message }
  const options = mountOptions(set, strategy)
  const note = strategy === 'auto' ? `takes ${planned.strategy}` : ''
  const cycle = async () => {
    const m = await mount(options)
    await m.unmount()
  }
  return { ...a, note, cycle }
}

/** The package with the plan made once, outside the cycle: `mount(plan)`. */
function plannedApproach(set: LayerSet): Approach {
  const a = approach(set, 'planned', 'auto')
  const planned = planFor(set, 'auto')
  if (planned instanceof OverlayError) return { ...a, skip: planned.message }
  const cycle = async () => {
    const m = await mount(planned)
    await m.unmount()
  }
  return { ...a, note: `takes ${planned.strategy}`, cycle }
}

/** The same requests in the native loop: no Node, no thread hop. */
function nativeApproach(set: LayerSet, strategy: Strategy): Approach {
  const a = approach(set, 'native', strategy)
  const planned = planFor(set, strategy)
  if (planned instanceof OverlayError) return { ...a, skip: planned.message }
  return { ...a, request: planned.request }
}

/** The binding with the plan made once: the pool's threads, or a fresh thread per mount. */
function bindingApproach(set: LayerSet, kind: 'pool' | 'fresh'): Approach {
  const a = approach(set, kind, 'auto')
  const planned = planFor(set, 'auto')
  if (planned instanceof OverlayError) return { ...a, skip: planned.message }
  const request = { ...planned.request, freshThread: kind === 'fresh' }
  const cycle = async () => {
    check(await native().mount(request))
    check(await native().unmount(request.target, false))
  }
  return { ...a, note: `takes ${planned.strategy}`, cycle }
}

/**
 * Two round trips to a mount thread with next to no work in them (unmounts of a directory
 * that is not a mount point): what a cycle costs beyond the syscalls when they run off the
 * event loop, the floor of the package / native loop ratio.
 */
function hopsApproach(set: LayerSet): Approach {
  const a = approach(set, 'hops', 'auto')
  const { target } = set.store
  const hop = async () => {
    const failure = await native().unmount(target, false)
    if (failure?.code !== 'ERR_OVERLAY_NOT_MOUNTED') {
      throw new Error(`an unmount of '${target}' should fail with ERR_OVERLAY_NOT_MOUNTED`)
    }
  }
  const cycle = async () => {
    await hop()
    await hop()
  }
  return { ...a, note: 'two failing unmounts', cycle }
}

/**
 * What a Node user does without the package: `mount -t overlay` and `umount` by fork and
 * exec, with the absolute mount data, or the relative one from the layers' common directory.
 */
function mount8Approach(set: LayerSet): Approach {
  const a = approach(set, 'mount8', 'auto')
  const absolute = planFor(set, 'absolute')
  const relative = planFor(set, 'relative')
  const usable = [absolute, relative].find((p): p is Plan => !(p instanceof OverlayError))
  if (!usable || usable.data === null) {
    const bytes = [absolute, relative].map((p) => (p instanceof OverlayError ? p.bytes : 0))
    const page = absolute instanceof OverlayError ? absolute.pageSize : 0
    const skip =
      `mount data is ${bytes[0]} bytes absolute, ${bytes[1]} relative: ` +
      `neither fits a ${page}-byte page`
    return { ...a, skip }
  }
  const { data, target } = usable
  const cwd = usable.cwd ?? undefined
  const cycle = async () => {
    await run('mount', ['-t', 'overlay', 'overlay', '-o', data, target], { cwd })
    await run('umount', [target])
  }
  return { ...a, note: `${usable.strategy} data, ${usable.dataBytes} bytes`, cycle }
}

/** Every approach for `set`, those that cannot carry it included with the reason. */
export function approachesFor(set: LayerSet): Approach[] {
  return [
    packageApproach(set, 'auto'),
    plannedApproach(set),
    ...STRATEGIES.map((s) => packageApproach(set, s)),
    ...STRATEGIES.map((s) => nativeApproach(set, s)),
    bindingApproach(set, 'pool'),
    bindingApproach(set, 'fresh'),
    hopsApproach(set),
    mount8Approach(set),
  ]
}
