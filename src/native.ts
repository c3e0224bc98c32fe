/**
 * Loads the native addon for this platform and describes what it exports.
 * The addon only converts types; the Rust core does every syscall on its own threads.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'

export interface NativeOption {
  key: string
  value?: string
}

/** A planned mount as the core receives it. Relative paths resolve against `cwd`. */
export interface NativeMountRequest {
  strategy: string
  cwd?: string
  target: string
  lower: string[]
  dataLayers: string[]
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

export interface NativeFeatures {
  release: string
  pageSize: number
  maxLowerLayers: number
  fsconfigValueMax: number
  newMountApi: boolean
  lowerdirPlus: boolean
  fdLayers: boolean
  oPathFds: boolean
  userNamespace: boolean
  notes: string[]
}

export interface NativeBinding {
  mount(request: NativeMountRequest): Promise<NativeError | null>
  unmount(target: string, detach: boolean): Promise<NativeError | null>
  findMount(target: string): Promise<NativeMountEntry | null>
  probeSync(): NativeFeatures
  mountThreads(): number
}

/** The napi-rs platform triple of this process, e.g. `linux-x64-gnu`. */
export function platformTriple(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }
  const libc = report?.header?.glibcVersionRuntime ? 'gnu' : 'musl'
  return `${process.platform}-${process.arch}-${libc}`
}

function load(): NativeBinding {
  const triple = platformTriple()
  if (process.platform !== 'linux') {
    throw new Error(
      `overlayfs works on Linux only (OverlayFS is a Linux filesystem); this is ${triple}`,
    )
  }
  const file = `overlayfs.${triple}.node`
  const candidates = [
    process.env.OVERLAYFS_NATIVE_PATH,
    join(__dirname, '..', 'native', file),
    join(__dirname, '..', '..', 'native', file),
  ].filter((c): c is string => Boolean(c))
  for (const candidate of candidates) {
    if (existsSync(candidate)) return require(candidate) as NativeBinding
  }
  const pkg = `overlayfs-${triple}`
  try {
    return require(pkg) as NativeBinding
  } catch (cause) {
    const supported = 'linux-x64-gnu, linux-arm64-gnu, linux-x64-musl, linux-arm64-musl'
    const err = new Error(
      `overlayfs has no native binary for ${triple}: the optional dependency ${pkg} is not ` +
        `installed (prebuilt platforms: ${supported}). Reinstall without --no-optional, or ` +
        `build from source with 'npm run build'.`,
    )
    ;(err as Error & { cause: unknown }).cause = cause
    throw err
  }
}

let binding: NativeBinding | undefined

/** The native addon, loaded on first use. */
export function native(): NativeBinding {
  binding ??= load()
  return binding
}
