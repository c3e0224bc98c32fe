/**
 * Typed errors. Every failure a caller can hit is an `OverlayError` with a stable `code`;
 * a failed syscall also carries `errno`, `syscall` and `path`, like Node's own fs errors.
 */
import type { NativeError } from './native'

/** The stable codes of refusals, checked before any syscall or by the core. */
export const ErrorCodes = {
  /** More lower layers than the kernel stacks. */
  TOO_MANY_LAYERS: 'ERR_OVERLAY_TOO_MANY_LAYERS',
  /** Legacy mount data of page size bytes or more: the kernel would cut it. */
  DATA_TOO_LONG: 'ERR_OVERLAY_DATA_TOO_LONG',
  /** One fsconfig string value longer than the kernel copies (255 bytes). */
  VALUE_TOO_LONG: 'ERR_OVERLAY_VALUE_TOO_LONG',
  /** A path or option the request cannot be made with. */
  INVALID_OPTIONS: 'ERR_OVERLAY_INVALID_OPTIONS',
  /** The target is already a mount point and `allowStacking` was not given. */
  TARGET_MOUNTED: 'ERR_OVERLAY_TARGET_MOUNTED',
  /** Unmount of a path that is not a mount point. */
  NOT_MOUNTED: 'ERR_OVERLAY_NOT_MOUNTED',
  /** The upper or work directory already serves a mounted overlay as its upper or work. */
  IN_USE: 'ERR_OVERLAY_IN_USE',
  /** A layer or the target is a symlink, which is never followed (`errno` says how). */
  SYMLINK: 'ERR_OVERLAY_SYMLINK',
  /** The running kernel lacks what a forced strategy needs. */
  UNSUPPORTED: 'ERR_OVERLAY_UNSUPPORTED',
  /** No strategy can carry this layer set on this kernel. */
  NO_STRATEGY: 'ERR_OVERLAY_NO_STRATEGY',
  /** A bug in this package: a mount thread panicked during the job. Please report it. */
  INTERNAL: 'ERR_OVERLAY_INTERNAL',
  /** No native binary loads here: not Linux, or no binary for this CPU and C library. */
  UNSUPPORTED_PLATFORM: 'ERR_OVERLAY_UNSUPPORTED_PLATFORM',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** Numbers and names that explain a refusal. */
export interface ErrorDetails {
  errno?: number
  syscall?: string
  path?: string
  limit?: number
  count?: number
  bytes?: number
  pageSize?: number
  strategy?: string
}

export class OverlayError extends Error {
  /** `ERR_OVERLAY_*` for a refusal, the errno name (`EPERM`) for a failed syscall. */
  readonly code: string
  readonly errno?: number
  readonly syscall?: string
  readonly path?: string
  readonly limit?: number
  readonly count?: number
  readonly bytes?: number
  readonly pageSize?: number
  readonly strategy?: string

  constructor(code: string, message: string, details: ErrorDetails = {}) {
    super(message)
    this.name = 'OverlayError'
    this.code = code
    for (const [key, value] of Object.entries(details)) {
      if (value !== undefined) Object.defineProperty(this, key, { value, enumerable: true })
    }
  }
}

/** A refusal of the options before anything was done. */
export function invalid(message: string, path?: string): OverlayError {
  return new OverlayError(ErrorCodes.INVALID_OPTIONS, message, { path })
}

/** Turns an error from the core into an `OverlayError`, prefixed with what was asked. */
export function fromNative(err: NativeError, asked: string): OverlayError {
  const hint =
    err.code === 'EPERM' ? ': mounting needs CAP_SYS_ADMIN (root, or `unshare -Urm`)' : ''
  return new OverlayError(err.code, `${asked}: ${err.message}${hint}`, {
    errno: err.errno == null ? undefined : -Math.abs(err.errno),
    syscall: err.syscall ?? undefined,
    path: err.path ?? undefined,
  })
}

/** The error an aborted call rejects with, like Node's own. */
export class AbortError extends Error {
  readonly code = 'ABORT_ERR'
  /** Whether the overlay exists now. Always false unless an unmount after the abort failed. */
  readonly mounted: boolean

  constructor(message: string, mounted: boolean, cause?: unknown) {
    super(message)
    this.name = 'AbortError'
    this.mounted = mounted
    if (cause !== undefined) (this as Error & { cause: unknown }).cause = cause
  }
}
