/** What the running kernel supports, probed by trying each feature once per process. */
import { native } from './native'

export interface Features {
  /** The kernel release (`uname -r`). */
  release: string
  /** The kernel's page size: legacy mount data must stay below it. */
  pageSize: number
  /** The most lower layers (data-only ones included) the kernel stacks. */
  maxLowerLayers: number
  /** The longest string value one `fsconfig(2)` call takes, in bytes. */
  fsconfigValueMax: number
  /** `fsopen("overlay")` works (Linux 5.2+, and this process may mount). */
  newMountApi: boolean
  /** `fsconfig` knows `lowerdir+` (Linux 6.8+). */
  lowerdirPlus: boolean
  /** Layers can be given as directory descriptors (Linux 6.13+). */
  fdLayers: boolean
  /** ... including `O_PATH` descriptors (Linux 6.15+). */
  oPathFds: boolean
  /**
   * `listmount(2)` and `statmount(2)` read a mount's options (Linux 6.11+), so that the
   * in-use check reads only mounts that are new since the last check, not all of mountinfo.
   */
  statmount: boolean
  /** The process is in a user namespace, where writable overlays need `userxattr`. */
  userNamespace: boolean
  /** Why each missing feature is missing. */
  notes: string[]
}

let cached: Features | undefined

/** The running kernel's features, synchronously; probed on first call and cached. */
export function probeSync(): Features {
  cached ??= Object.freeze({ ...native().probeSync() })
  return cached
}

/** The running kernel's features, probed on first call and cached for the process. */
export async function probe(): Promise<Features> {
  return probeSync()
}
