/**
 * Loads the native addon for this platform and describes what it exports.
 * The addon only converts types; the Rust core does every syscall on its own threads.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'

import { Jobs } from './channel'
import type { AddonChannel, ChannelConstructor } from './channel'
import { optionText } from './data'
import { ErrorCodes, OverlayError } from './errors'
import type { Features } from './features'

export interface NativeOption {
  key: string
  value?: string
}

/** A planned mount as the core receives it. Relative paths resolve against `cwd`. */
export interface NativeMountRequest {
  strategy: string
  cwd?: string
  target: string
  lower: readonly string[]
  dataLayers: readonly string[]
  upper?: string
  work?: string
  options: NativeOption[]
  data?: string
  allowStacking: boolean
  freshThread?: boolean
}

/** A failure from the core, with the fields of a Node fs error. */
export interface NativeError {
  code: string
  errno?: number | null
  syscall?: string | null
  path?: string | null
  message: string
}

export interface NativeMountEntry {
  id: number
  parent: number
  root: string
  mountPoint: string
  fstype: string
  source: string
  superOptions: NativeOption[]
  lowerdirs: string[]
  datadirs: string[]
}

/** The core reports exactly the fields of the public `Features`, documented there. */
export type NativeFeatures = Features

/**
 * Mounts `request` on `channel` as job `id`. The fields go as positional arguments, each
 * list as one string with its count, the items joined by NUL (which no path or option
 * holds): the addon converts that in a fraction of the time of an object's named
 * properties, or of hundreds of strings.
 */
export function mountOn(channel: AddonChannel, id: number, request: NativeMountRequest): void {
  const r = request
  const options = r.options.map(optionText)
  channel.mount(
    id,
    r.strategy,
    r.target,
    joined(r.lower),
    r.lower.length,
    joined(r.dataLayers),
    r.dataLayers.length,
    r.upper,
    r.work,
    r.cwd,
    joined(options),
    options.length,
    r.data,
    r.allowStacking,
    r.freshThread === true,
  )
}

/** The joined form of each frozen list of paths: a plan's checked layers, shared by plans. */
const joinedLists = new WeakMap<readonly string[], string>()

/** `paths` joined by NUL. (`Array.prototype.join` took 5 times as long on `path.join`'s.) */
function joined(paths: readonly string[]): string {
  const known = joinedLists.get(paths)
  if (known !== undefined) return known
  let all = paths.length > 0 ? paths[0] : ''
  for (let i = 1; i < paths.length; i++) all += '\0' + paths[i]
  if (Object.isFrozen(paths)) joinedLists.set(paths, all)
  return all
}

/** The package's view of the addon: each job a Promise, settled through one channel. */
export interface NativeBinding {
  mount(request: NativeMountRequest): Promise<NativeError | null>
  unmount(target: string, detach: boolean): Promise<NativeError | null>
  findMount(target: string): Promise<NativeMountEntry | null>
  probeSync(): NativeFeatures
  mountThreads(): number
}

/** What the addon itself exports (see `crates/overlayfs-node`). */
export interface Addon {
  Channel: ChannelConstructor
  probeSync(): NativeFeatures
  mountThreads(): number
}

/** The binding over `addon`. Its channel is made with the first job. */
export function bind(addon: Addon): NativeBinding {
  let made: Jobs | undefined
  const jobs = () => (made ??= new Jobs(addon.Channel))
  return {
    mount: (request) => jobs().run('error', (c, id) => mountOn(c, id, request)),
    unmount: (target, detach) => jobs().run('error', (c, id) => c.unmount(id, target, detach)),
    findMount: (target) => jobs().run('entry', (c, id) => c.findMount(id, target)),
    probeSync: () => addon.probeSync(),
    mountThreads: () => addon.mountThreads(),
  }
}

/** What picks the native binary: the OS, the CPU and, on Linux, the C library. */
export interface Host {
  platform: string
  arch: string
  /** `gnu` (glibc) or `musl`; Linux only. */
  libc?: 'gnu' | 'musl'
}

/** The platform triples that have a prebuilt package `overlayfs-<triple>`. */
export const PREBUILT_TRIPLES = [
  'linux-x64-gnu',
  'linux-arm64-gnu',
  'linux-x64-musl',
  'linux-arm64-musl',
] as const

/** This process's host. The C library is glibc when Node's report names a glibc version. */
export function currentHost(): Host {
  const { platform, arch } = process
  if (platform !== 'linux') return { platform, arch }
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }
  return { platform, arch, libc: report?.header?.glibcVersionRuntime ? 'gnu' : 'musl' }
}

/** The napi-rs platform triple of `host`, e.g. `linux-x64-gnu` or `darwin-arm64`. */
export function platformTriple(host: Host = currentHost()): string {
  const base = `${host.platform}-${host.arch}`
  return host.libc ? `${base}-${host.libc}` : base
}

function unsupported(message: string, cause?: unknown): OverlayError {
  const err = new OverlayError(ErrorCodes.UNSUPPORTED_PLATFORM, message)
  if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause })
  return err
}

/**
 * Loads the native binary for `host`: the file OVERLAYFS_NATIVE_PATH names, else a local
 * build in `native/`, else the platform package `overlayfs-<triple>`.
 */
export function loadNative(host: Host = currentHost()): NativeBinding {
  return bind(loadAddon(host))
}

/** The addon for `host`, found as `loadNative` says. */
export function loadAddon(host: Host = currentHost()): Addon {
  const triple = platformTriple(host)
  if (host.platform !== 'linux') {
    throw unsupported(
      `overlayfs works on Linux only (OverlayFS is a Linux filesystem); this is ${triple}`,
    )
  }

  const named = process.env.OVERLAYFS_NATIVE_PATH
  if (named) {
    if (!existsSync(named)) {
      throw unsupported(`OVERLAYFS_NATIVE_PATH names '${named}', which does not exist`)
    }
    return require(named) as Addon
  }

  // A build in the repository, whose native/ sits beside dist/ and src/.
  const local = join(__dirname, '..', 'native', `overlayfs.${triple}.node`)
  if (existsSync(local)) return require(local) as Addon

  const pkg = `overlayfs-${triple}`
  try {
    return require(pkg) as Addon
  } catch (cause) {
    const message = `overlayfs has no native binary for ${triple}: ${whyNot(triple, cause)}`
    throw unsupported(message, cause)
  }
}

/** Why the platform package for `triple` gave no binary, and what to do about it. */
function whyNot(triple: string, cause: unknown): string {
  const pkg = `overlayfs-${triple}`
  if (!(PREBUILT_TRIPLES as readonly string[]).includes(triple)) {
    return (
      `no package is built for it (prebuilt: ${PREBUILT_TRIPLES.join(', ')}); build the ` +
      `addon from source and point OVERLAYFS_NATIVE_PATH at it`
    )
  }
  if ((cause as { code?: string }).code === 'MODULE_NOT_FOUND') {
    return `its package ${pkg} is not installed; reinstall without --omit=optional`
  }
  return `its package ${pkg} does not load: ${(cause as Error).message}`
}

let binding: NativeBinding | undefined

/** The native addon, loaded on first use. */
export function native(): NativeBinding {
  binding ??= loadNative()
  return binding
}
