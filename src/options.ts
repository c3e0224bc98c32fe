/** The caller's mount options, checked and normalized before any planning. */
import { optionText } from './data'
import { checkPath, checkedList } from './paths'
import type { CheckedList } from './paths'
import { ErrorCodes, OverlayError, invalid } from './errors'
import type { Features } from './features'

/** How the kernel is handed the layers. */
export type Strategy = 'fd' | 'lowerdir+' | 'absolute' | 'relative' | 'procfd'

/** Every strategy, in the order `auto` tries them. */
export const STRATEGIES: readonly Strategy[] = ['fd', 'lowerdir+', 'absolute', 'relative', 'procfd']

export interface MountOptions {
  /** Lower layers, top-most first (the kernel's lowerdir order). Absolute paths. */
  lower: string[]
  /** Data-only lower layers, below every lower layer (needs `metacopy=on`). */
  data?: string[]
  /** The writable layer; give `work` with it. Neither means a read-only overlay. */
  upper?: string
  /** An empty directory on the same filesystem as `upper`. */
  work?: string
  /** Where to mount. */
  target: string
  /** `auto` (the default) takes the best strategy the kernel has that fits. */
  strategy?: 'auto' | Strategy
  /** Extra overlay options: `userxattr`, `index=off`, `metacopy=on`, ... */
  options?: string[]
  /**
   * In a user namespace a writable overlay needs `userxattr`, which is added unless this is
   * `false`.
   */
  userxattr?: boolean
  /** Mount even if the target is already a mount point, on top of it. */
  allowStacking?: boolean
}

/** Options after checking: normalized absolute paths and parsed extra options. */
export interface CheckedOptions {
  /** Frozen, and shared by the plans of one layer set. */
  lower: readonly string[]
  data: readonly string[]
  upper?: string
  work?: string
  target: string
  strategy: 'auto' | Strategy
  options: ParsedOption[]
  allowStacking: boolean
}

export interface ParsedOption {
  key: string
  value?: string
}

/** The extra options overlayfs knows, with the values each takes (`null`: a flag). */
const KNOWN_OPTIONS: Record<string, readonly string[] | null> = {
  default_permissions: null,
  userxattr: null,
  volatile: null,
  index: ['on', 'off'],
  metacopy: ['on', 'off'],
  nfs_export: ['on', 'off'],
  redirect_dir: ['on', 'off', 'follow', 'nofollow'],
  uuid: ['on', 'off', 'null', 'auto'],
  verity: ['on', 'off', 'require'],
  xino: ['on', 'off', 'auto'],
}

const LAYER_KEYS = ['lowerdir', 'upperdir', 'workdir', 'lowerdir+', 'datadir+']

/**
 * Options overlayfs refuses together, each pair with why: it says so only in the kernel log
 * (`conflicting options: ...`) and answers the mount with a bare EINVAL. Found on Linux 6.18
 * by trying every pair of the known options with an upper layer.
 */
const CONFLICTS: [string, string, string][] = [
  ['metacopy=on', 'userxattr', 'the kernel refuses metacopy with user xattrs'],
  ['metacopy=on', 'redirect_dir=off', 'metacopy needs redirect_dir=on'],
  ['metacopy=on', 'redirect_dir=follow', 'metacopy needs redirect_dir=on'],
  ['metacopy=on', 'redirect_dir=nofollow', 'metacopy needs redirect_dir=on'],
  ['metacopy=on', 'nfs_export=on', 'the kernel cannot export metacopy files'],
  ['userxattr', 'redirect_dir=on', 'with user xattrs redirect_dir can only be nofollow'],
  ['userxattr', 'redirect_dir=off', 'with user xattrs redirect_dir can only be nofollow'],
  ['userxattr', 'redirect_dir=follow', 'with user xattrs redirect_dir can only be nofollow'],
  ['nfs_export=on', 'index=off', 'nfs_export needs index=on'],
]

function parseOption(text: unknown): ParsedOption {
  if (typeof text !== 'string' || text === '')
    throw invalid(`an extra option must be a non-empty string`)
  const eq = text.indexOf('=')
  const key = eq < 0 ? text : text.slice(0, eq)
  const value = eq < 0 ? undefined : text.slice(eq + 1)
  if (LAYER_KEYS.includes(key)) {
    throw invalid(`option '${text}' cannot be given in options: use lower, upper and work`)
  }
  if (!(key in KNOWN_OPTIONS)) {
    const known = Object.keys(KNOWN_OPTIONS).join(', ')
    throw invalid(`unknown overlay option '${text}' (known: ${known})`)
  }
  const values = KNOWN_OPTIONS[key]
  if (values === null && value !== undefined)
    throw invalid(`option '${key}' takes no value, got '${text}'`)
  if (values !== null && (value === undefined || !values.includes(value))) {
    throw invalid(`option '${text}' needs one of ${key}=${values.join('|')}`)
  }
  return { key, value }
}

function checkOptions(parsed: ParsedOption[], writable: boolean): void {
  const seen = new Set<string>()
  for (const option of parsed) {
    if (seen.has(option.key)) throw invalid(`option '${option.key}' is given twice`)
    seen.add(option.key)
  }
  const texts = new Set(parsed.map(optionText))
  for (const [a, b, why] of CONFLICTS) {
    if (texts.has(a) && texts.has(b)) throw invalid(`options '${a}' and '${b}' conflict: ${why}`)
  }
  const has = (key: string) => parsed.some((o) => o.key === key)
  if (has('volatile') && !writable) throw invalid(`option 'volatile' needs an upper layer`)
}

/** Every layer as `[role, path]`, the role named as the caller spells it (`lower[3]`). */
export function roles(
  layers: Pick<CheckedOptions, 'lower' | 'data' | 'upper' | 'work'>,
): [string, string][] {
  return [
    ...layers.lower.map((p, i): [string, string] => [`lower[${i}]`, p]),
    ...layers.data.map((p, i): [string, string] => [`data[${i}]`, p]),
    ...(layers.upper ? [['upper', layers.upper] as [string, string]] : []),
    ...(layers.work ? [['work', layers.work] as [string, string]] : []),
  ]
}

/**
 * Refuses a layer listed twice and a target that is a layer or inside one, in the order
 * of `roles()`: the first role that is either is named. Role names are only spelled out for
 * the error, and nothing is allocated otherwise: this runs on every mount.
 */
function checkDistinct(
  lower: CheckedList,
  data: CheckedList,
  upper: string | undefined,
  work: string | undefined,
  target: string,
): void {
  const nLower = lower.paths.length
  const nData = data.paths.length
  // The role index at which `path` first occurs before role index `at`, or -1.
  const earlier = (path: string, at: number): number => {
    const l = lower.first.get(path)
    if (l !== undefined && l < at) return l
    const d = data.first.get(path)
    if (d !== undefined && nLower + d < at) return nLower + d
    if (at > nLower + nData && path === upper) return nLower + nData
    return -1
  }
  const count = nLower + nData + (upper === undefined ? 0 : 1) + (work === undefined ? 0 : 1)
  for (let at = 0; at < count; at++) {
    const path =
      at < nLower
        ? lower.paths[at]
        : at < nLower + nData
          ? data.paths[at - nLower]
          : at === nLower + nData && upper !== undefined
            ? upper
            : work!
    const first = earlier(path, at)
    const inside =
      target.startsWith(path) &&
      (target.length === path.length || target[path.length] === '/' || path === '/')
    if (first >= 0 || inside) {
      const named = roles({ lower: lower.paths, data: data.paths, upper, work })
      const role = named[at][0]
      if (first >= 0) {
        throw invalid(`${role} '${path}' is listed twice (also as ${named[first][0]})`, path)
      }
      throw invalid(
        `target '${target}' is ${target === path ? '' : 'inside '}${role} '${path}'`,
        target,
      )
    }
  }
}

/** Checks everything that can be checked without the filesystem: types, paths, counts. */
export function checkMountOptions(options: MountOptions, features: Features): CheckedOptions {
  if (options === null || typeof options !== 'object')
    throw invalid('mount options must be an object')
  if (!Array.isArray(options.lower)) throw invalid('lower must be an array of absolute paths')
  const dataIn = options.data ?? []
  if (!Array.isArray(dataIn)) throw invalid('data must be an array of absolute paths')

  const count = options.lower.length + dataIn.length
  if (count > features.maxLowerLayers) {
    throw new OverlayError(
      ErrorCodes.TOO_MANY_LAYERS,
      `${count} lower layers requested, more than the kernel's limit of ${features.maxLowerLayers}`,
      { limit: features.maxLowerLayers, count },
    )
  }
  if (options.lower.length === 0)
    throw invalid('lower is empty: an overlay needs at least one lower layer')

  const lower = checkedList(options.lower, 'lower')
  const data = checkedList(dataIn, 'data')
  if ((options.upper === undefined) !== (options.work === undefined)) {
    const [given, missing] = options.upper === undefined ? ['work', 'upper'] : ['upper', 'work']
    const path = options.upper ?? options.work
    throw invalid(
      `${given} '${String(path)}' is given without ${missing}: give both or neither`,
      typeof path === 'string' ? path : undefined,
    )
  }
  const upper = options.upper === undefined ? undefined : checkPath(options.upper, 'upper')
  const work = options.work === undefined ? undefined : checkPath(options.work, 'work')
  const target = checkPath(options.target, 'target')

  checkDistinct(lower, data, upper, work, target)

  const strategy = options.strategy ?? 'auto'
  if (strategy !== 'auto' && !STRATEGIES.includes(strategy)) {
    throw invalid(`unknown strategy '${String(strategy)}' (known: auto, ${STRATEGIES.join(', ')})`)
  }

  const extra = options.options ?? []
  if (!Array.isArray(extra)) throw invalid('options must be an array of strings')
  const parsed = extra.map(parseOption)
  const writable = upper !== undefined
  const wantsUserxattr = options.userxattr ?? (features.userNamespace && writable)
  if (wantsUserxattr && !parsed.some((o) => o.key === 'userxattr'))
    parsed.push({ key: 'userxattr' })
  if (data.paths.length > 0 && !parsed.some((o) => o.key === 'metacopy')) {
    parsed.push({ key: 'metacopy', value: 'on' })
  }
  checkOptions(parsed, writable)

  return {
    lower: lower.paths,
    data: data.paths,
    upper,
    work,
    target,
    strategy,
    options: parsed,
    allowStacking: Boolean(options.allowStacking),
  }
}
