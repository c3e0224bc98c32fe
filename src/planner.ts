/**
 * The planner: picks how the kernel is handed the layers, and says why.
 *
 * It is pure: it reads no file and makes no syscall, so it can run for any kernel's
 * features (tests pass those of older kernels). Every limit is checked here, before the
 * core is asked for anything; the core checks the same limits again at the syscall.
 */
import { commonDirectory, relativeTo } from './compact'
import { byteLength, escapeUpperdir, legacyData, optionText } from './data'
import { ErrorCodes, OverlayError } from './errors'
import { probeSync } from './features'
import type { Features } from './features'
import type { NativeMountRequest } from './native'
import { STRATEGIES, checkMountOptions, roles } from './options'
import type { CheckedOptions, MountOptions, Strategy } from './options'

/** A strategy ruled out, and why, in numbers. */
export interface Rejection {
  strategy: Strategy
  code: string
  reason: string
}

export interface Plan {
  /** The strategy the mount will use. */
  strategy: Strategy
  /** Why it was chosen. */
  reason: string
  /** The strategies ruled out before it, each with its reason. */
  rejected: Rejection[]
  /** The directory the mount thread enters first, or null. */
  cwd: string | null
  /** The exact legacy mount data (`absolute`, `relative`); for `procfd`, its longest form. */
  data: string | null
  /** Bytes of `data` (for `procfd` an upper bound): it must stay below `pageSize`. */
  dataBytes: number
  /** The running kernel's page size (or that of the features given). */
  pageSize: number
  /** The longest single `fsconfig` string value, for `lowerdir+`; else 0. */
  valueBytes: number
  /** Lower layers, data-only ones included. */
  layers: number
  /** Layers as the kernel will see them: relative to `cwd` where that is set. */
  lower: readonly string[]
  dataLayers: readonly string[]
  upper: string | null
  work: string | null
  target: string
  /** Extra overlay options, including any the package added (`userxattr`). */
  options: string[]
  /** What is sent to the core. */
  request: NativeMountRequest
}

/** The widest descriptor number `procfd` budgets for: up to 9,999,999 open files. */
const FD_DIGITS = 7

type Candidate =
  | { ok: true; plan: Omit<Plan, 'strategy' | 'reason' | 'rejected' | 'pageSize' | 'layers'> }
  | { ok: false; code: string; reason: string; details?: Record<string, number> }

/** Paths handed to the kernel as the caller gave them (after checking). */
const AS_GIVEN = null

/**
 * The plan's fields for `strategy`, with every path passed through `map`, or taken as it is
 * (`AS_GIVEN`): then the lists are the checked ones themselves, shared by every plan of the
 * layer set, so that they are not copied per mount. Either way they are frozen.
 */
function request(
  strategy: Strategy,
  opts: CheckedOptions,
  cwd: string | null,
  map: ((path: string) => string) | typeof AS_GIVEN,
  data: string | null,
): Omit<Plan, 'strategy' | 'reason' | 'rejected' | 'pageSize' | 'layers'> {
  const each = map ?? ((p: string) => p)
  const lower = map ? Object.freeze(opts.lower.map(map)) : opts.lower
  const dataLayers = map ? Object.freeze(opts.data.map(map)) : opts.data
  const upper = opts.upper === undefined ? null : each(opts.upper)
  const work = opts.work === undefined ? null : each(opts.work)
  return {
    cwd,
    data,
    dataBytes: data === null ? 0 : byteLength(data),
    valueBytes: 0,
    lower,
    dataLayers,
    upper,
    work,
    target: opts.target,
    options: opts.options.map(optionText),
    // napi takes an absent optional field as undefined, never null.
    request: {
      strategy,
      cwd: cwd ?? undefined,
      target: opts.target,
      lower,
      dataLayers,
      upper: upper ?? undefined,
      work: work ?? undefined,
      options: opts.options.map((o) => ({ key: o.key, value: o.value })),
      data: (strategy === 'absolute' || strategy === 'relative' ? data : null) ?? undefined,
      allowStacking: opts.allowStacking,
    },
  }
}

function commaReason(opts: CheckedOptions): Candidate | null {
  const found = roles(opts).find(([, p]) => p.includes(','))
  if (!found) return null
  return {
    ok: false,
    code: ErrorCodes.INVALID_OPTIONS,
    reason: `${found[0]} '${found[1]}' contains ',', which legacy mount data cannot carry`,
  }
}

function tooLong(bytes: number, page: number, what: string): Candidate {
  return {
    ok: false,
    code: ErrorCodes.DATA_TOO_LONG,
    reason: `${what} ${bytes} bytes >= page ${page}`,
    details: { bytes, pageSize: page },
  }
}

function legacy(strategy: 'absolute' | 'relative', opts: CheckedOptions, f: Features): Candidate {
  const comma = commaReason(opts)
  if (comma) return comma
  const cwd = strategy === 'relative' ? commonDirectory([...opts.lower, ...opts.data]) : null
  // Upper and work stay absolute, so that mountinfo shows which directories this overlay
  // writes to and a second overlay on them can be refused.
  const keep = new Set([opts.upper, opts.work])
  const map = cwd === null ? AS_GIVEN : (p: string) => (keep.has(p) ? p : relativeTo(cwd, p))
  const planned = request(strategy, opts, cwd, map, null)
  const data = legacyData({
    lower: planned.lower,
    data: planned.dataLayers,
    upper: planned.upper ?? undefined,
    work: planned.work ?? undefined,
    options: opts.options,
  })
  const bytes = byteLength(data)
  if (bytes >= f.pageSize) return tooLong(bytes, f.pageSize, 'data')
  const withData = { ...planned.request, data }
  return { ok: true, plan: { ...planned, data, dataBytes: bytes, request: withData } }
}

function procfd(opts: CheckedOptions, f: Features): Candidate {
  const fd = '9'.repeat(FD_DIGITS)
  const data = legacyData({
    lower: opts.lower.map(() => fd),
    data: opts.data.map(() => fd),
    // The core names upper and work by path unless a comma forces a descriptor.
    upper: opts.upper && (opts.upper.includes(',') ? fd : opts.upper),
    work: opts.work && (opts.work.includes(',') ? fd : opts.work),
    options: opts.options,
  })
  const bytes = byteLength(data)
  if (bytes >= f.pageSize) return tooLong(bytes, f.pageSize, `data with ${FD_DIGITS}-digit fds`)
  const planned = request('procfd', opts, null, AS_GIVEN, data)
  return { ok: true, plan: planned }
}

function lowerdirPlus(opts: CheckedOptions, f: Features): Candidate {
  if (!f.lowerdirPlus) {
    return {
      ok: false,
      code: ErrorCodes.UNSUPPORTED,
      reason: `kernel ${f.release} has no fsconfig lowerdir+ (Linux 6.8+)`,
    }
  }
  const longest = (map: (p: string) => string) => {
    let worst = { role: '', bytes: 0 }
    for (const [role, path] of roles(opts)) {
      const value = role === 'upper' || role === 'work' ? escapeUpperdir(map(path)) : map(path)
      const bytes = byteLength(value)
      if (bytes > worst.bytes) worst = { role, bytes }
    }
    return worst
  }
  const absolute = longest((p) => p)
  if (absolute.bytes <= f.fsconfigValueMax) {
    return {
      ok: true,
      plan: { ...request('lowerdir+', opts, null, AS_GIVEN, null), valueBytes: absolute.bytes },
    }
  }
  const cwd = commonDirectory([...opts.lower, ...opts.data])
  const map = (p: string) => relativeTo(cwd, p)
  const relative = longest(map)
  if (relative.bytes <= f.fsconfigValueMax) {
    return {
      ok: true,
      plan: { ...request('lowerdir+', opts, cwd, map, null), valueBytes: relative.bytes },
    }
  }
  return {
    ok: false,
    code: ErrorCodes.VALUE_TOO_LONG,
    reason:
      `${relative.role} path ${relative.bytes} bytes > ${f.fsconfigValueMax} ` +
      `even relative to '${cwd}'`,
    details: { bytes: relative.bytes, limit: f.fsconfigValueMax },
  }
}

function fd(opts: CheckedOptions, f: Features): Candidate {
  if (!f.fdLayers) {
    const why = f.newMountApi
      ? 'file-descriptor layers (Linux 6.13+)'
      : 'new mount API (Linux 5.2+)'
    return { ok: false, code: ErrorCodes.UNSUPPORTED, reason: `kernel ${f.release} has no ${why}` }
  }
  return { ok: true, plan: request('fd', opts, null, AS_GIVEN, null) }
}

function candidate(strategy: Strategy, opts: CheckedOptions, f: Features): Candidate {
  switch (strategy) {
    case 'fd':
      return fd(opts, f)
    case 'lowerdir+':
      return lowerdirPlus(opts, f)
    case 'absolute':
    case 'relative':
      return legacy(strategy, opts, f)
    case 'procfd':
      return procfd(opts, f)
  }
}

const AUTO_REASON = `the first of ${STRATEGIES.join(', ')} that this kernel has and that fits`

/**
 * Plans a mount for the kernel described by `features` (by default the running one):
 * checks every option and limit, picks the strategy, and explains the choice.
 * Throws an `OverlayError` if the options are invalid or nothing can carry them.
 */
export function plan(options: MountOptions, features: Features = probeSync()): Plan {
  const opts = checkMountOptions(options, features)
  const order = opts.strategy === 'auto' ? STRATEGIES : [opts.strategy]
  const rejected: Rejection[] = []
  for (const strategy of order) {
    const c = candidate(strategy, opts, features)
    if (c.ok) {
      const reason = opts.strategy === 'auto' ? AUTO_REASON : 'asked for'
      return {
        ...c.plan,
        strategy,
        reason,
        rejected,
        pageSize: features.pageSize,
        layers: opts.lower.length + opts.data.length,
      }
    }
    if (opts.strategy !== 'auto') {
      throw new OverlayError(c.code, `strategy ${strategy} cannot mount this: ${c.reason}`, {
        strategy,
        ...c.details,
      })
    }
    rejected.push({ strategy, code: c.code, reason: c.reason })
  }
  const reasons = rejected.map((r) => `${r.strategy}: ${r.reason}`).join('; ')
  throw new OverlayError(
    ErrorCodes.NO_STRATEGY,
    `no strategy can mount this on kernel ${features.release}: ${reasons}`,
  )
}
