/**
 * overlayfs: mount Linux OverlayFS from Node with any number of layers, on threads of the
 * package's own, without touching the process's working directory.
 */
export { AbortError, ErrorCodes, OverlayError } from './errors'
export type { ErrorCode, ErrorDetails } from './errors'
export { probe, probeSync } from './features'
export type { Features } from './features'
export { findMount, isMounted, mount, unmount } from './mount'
export type { MountCallOptions, Mounted, UnmountOptions } from './mount'
export type { NativeMountEntry as MountEntry } from './native'
export { STRATEGIES } from './options'
export type { MountOptions, Strategy } from './options'
export { plan } from './planner'
export type { Plan, Rejection } from './planner'
export { commonDirectory, relativeTo } from './compact'
