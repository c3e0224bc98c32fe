/**
 * A catalogue of bad inputs to `mount`, one row each. Every row must be refused with an
 * `OverlayError` whose `code` is the row's and whose message names the input, and must
 * leave nothing behind: no new mount in this namespace, no new entry in the sandbox, no
 * extra open descriptor. The counts are taken after the row has laid out its fixture (a
 * tmpfs, an overlay already using an upper dir) and compared right after the refusal, so
 * the tests are serial.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'
import type { ExecutionContext } from 'ava'

import { ErrorCodes, OverlayError, STRATEGIES, mount } from '../src'
import type { MountOptions, Strategy } from '../src'
import { assertNothingLeft, counts, tmpfs, warmUp } from './helpers/leaks'
import { sandbox } from './helpers/sandbox'

/** The directories every row may use, laid out in the row's sandbox. */
interface Layout {
  dir: string
  l0: string
  l1: string
  upper: string
  work: string
  target: string
  /** A regular file. */
  file: string
  /** A symlink to `l0`. */
  link: string
  /** A symlink to the sandbox itself, so `alias/l0` is `l0` by another name. */
  alias: string
}

function layout(dir: string): Layout {
  const at = (name: string) => join(dir, name)
  const l: Layout = {
    dir,
    l0: at('l0'),
    l1: at('l1'),
    upper: at('upper'),
    work: at('work'),
    target: at('merged'),
    file: at('a-file'),
    link: at('link-to-l0'),
    alias: at('alias'),
  }
  for (const d of [l.l0, l.l1, l.upper, l.work, l.target]) mkdirSync(d)
  writeFileSync(join(l.l0, 'marker'), 'l0')
  writeFileSync(l.file, 'not a directory')
  symlinkSync(l.l0, l.link)
  symlinkSync(dir, l.alias)
  return l
}

interface Row {
  name: string
  /** The argument to `mount`, built in the row's layout; may mount a fixture first. */
  options: (l: Layout, t: ExecutionContext) => unknown
  code: string
  /** Must match the message; it names the input (a path's last part, a key, a count). */
  message: RegExp
}

const INVALID = ErrorCodes.INVALID_OPTIONS
/** Read-only needs two lower layers (one is a row of its own). */
const base = (l: Layout): MountOptions => ({ lower: [l.l0, l.l1], target: l.target })
const writable = (l: Layout): MountOptions => ({ ...base(l), upper: l.upper, work: l.work })

/**
 * A second overlay, already mounted (by `strategy`, `auto` if not given), whose upper and
 * work dirs the row then reuses; `prefix` starts their names.
 */
async function busyOverlay(
  l: Layout,
  strategy?: Strategy,
  prefix = 'busy',
): Promise<{ upper: string; work: string }> {
  const at = (n: string) => join(l.dir, `${prefix}-${n}`)
  const [upper, work, target] = ['upper', 'work', 'merged'].map(at)
  for (const d of [upper, work, target]) mkdirSync(d)
  await mount({ lower: [l.l1], upper, work, target, strategy })
  return { upper, work }
}

/** Rows whose input reaches the core: run with `auto` and with every strategy. */
const CORE_ROWS: Row[] = [
  {
    name: 'a lower layer that does not exist',
    options: (l) => ({ ...base(l), lower: [join(l.dir, 'missing-lower'), l.l1] }),
    code: 'ENOENT',
    message: /missing-lower' \(lowerdir 0 does not exist\)/,
  },
  {
    name: 'an upper dir that does not exist',
    options: (l) => ({ ...writable(l), upper: join(l.dir, 'missing-upper') }),
    code: 'ENOENT',
    message: /missing-upper' \(upperdir does not exist\)/,
  },
  {
    name: 'a work dir that does not exist',
    options: (l) => ({ ...writable(l), work: join(l.dir, 'missing-work') }),
    code: 'ENOENT',
    message: /missing-work' \(workdir does not exist\)/,
  },
  {
    name: 'a target that does not exist',
    options: (l) => ({ ...base(l), target: join(l.dir, 'missing-target') }),
    code: 'ENOENT',
    message: /missing-target' \(target does not exist\)/,
  },
  {
    name: 'a data-only layer that does not exist',
    options: (l) => ({ ...base(l), data: [join(l.dir, 'missing-data')] }),
    code: 'ENOENT',
    message: /missing-data' \(datadir 0 does not exist\)/,
  },
  {
    name: 'a file as a lower layer',
    options: (l) => ({ ...base(l), lower: [l.l0, l.file] }),
    code: 'ENOTDIR',
    message: /a-file' \(lowerdir 1 is not a directory\)/,
  },
  {
    name: 'a file as the upper dir',
    options: (l) => ({ ...writable(l), upper: l.file }),
    code: 'ENOTDIR',
    message: /a-file' \(upperdir is not a directory\)/,
  },
  {
    name: 'a file as the work dir',
    options: (l) => ({ ...writable(l), work: l.file }),
    code: 'ENOTDIR',
    message: /a-file' \(workdir is not a directory\)/,
  },
  {
    name: 'a file as the target',
    options: (l) => ({ ...base(l), target: l.file }),
    code: 'ENOTDIR',
    message: /a-file' \(target is not a directory\)/,
  },
  {
    name: 'a symlink as a lower layer',
    options: (l) => ({ ...base(l), lower: [l.l1, l.link] }),
    code: ErrorCodes.SYMLINK,
    message: /lowerdir 1 '[^']*link-to-l0' is a symlink/,
  },
  {
    name: 'a symlink as the upper dir',
    options: (l) => {
      symlinkSync(l.upper, join(l.dir, 'link-to-upper'))
      return { ...writable(l), upper: join(l.dir, 'link-to-upper') }
    },
    code: ErrorCodes.SYMLINK,
    message: /upperdir '[^']*link-to-upper' is a symlink/,
  },
  {
    name: 'a symlink as the work dir',
    options: (l) => {
      symlinkSync(l.work, join(l.dir, 'link-to-work'))
      return { ...writable(l), work: join(l.dir, 'link-to-work') }
    },
    code: ErrorCodes.SYMLINK,
    message: /workdir '[^']*link-to-work' is a symlink/,
  },
  {
    name: 'a symlink as the target',
    options: (l) => {
      symlinkSync(l.target, join(l.dir, 'link-to-merged'))
      return { ...base(l), target: join(l.dir, 'link-to-merged') }
    },
    code: ErrorCodes.SYMLINK,
    message: /target '[^']*link-to-merged' is a symlink/,
  },
  {
    name: 'a work dir on another filesystem than the upper dir',
    options: (l, t) => {
      const work = join(tmpfs(t, join(l.dir, 'tmpfs')), 'work-on-tmpfs')
      mkdirSync(work)
      return { ...writable(l), work }
    },
    code: INVALID,
    message: /workdir '[^']*work-on-tmpfs' is on another filesystem than upperdir '[^']*upper'/,
  },
  {
    name: 'an upper dir on another filesystem than the work dir',
    options: (l, t) => {
      const upper = join(tmpfs(t, join(l.dir, 'tmpfs')), 'upper-on-tmpfs')
      mkdirSync(upper)
      return { ...writable(l), upper }
    },
    code: INVALID,
    message: /workdir '[^']*work' is on another filesystem than upperdir '[^']*upper-on-tmpfs'/,
  },
  {
    name: 'an upper dir that a mounted overlay already writes to',
    options: async (l) => ({ ...writable(l), upper: (await busyOverlay(l)).upper }),
    code: ErrorCodes.IN_USE,
    message: /upperdir '[^']*busy-upper' is already the upperdir of the overlay mounted on/,
  },
  {
    name: 'a work dir that a mounted overlay already uses',
    options: async (l) => ({ ...writable(l), work: (await busyOverlay(l)).work }),
    code: ErrorCodes.IN_USE,
    message: /workdir '[^']*busy-work' is already the workdir of the overlay mounted on/,
  },
  {
    name: "a work dir that is a mounted overlay's upper dir",
    options: async (l) => {
      const busy = await busyOverlay(l)
      mkdirSync(join(l.dir, 'fresh-upper'))
      return { ...writable(l), upper: join(l.dir, 'fresh-upper'), work: busy.upper }
    },
    code: ErrorCodes.IN_USE,
    message: /workdir '[^']*busy-upper' is already the upperdir of the overlay mounted on/,
  },
  ...(['lowerdir+', 'absolute', 'procfd'] as const).map(
    (strategy): Row => ({
      // These list upper and work in mountinfo as given, with overlayfs's escaping of `\`.
      name: `an upper dir named with a backslash that a ${strategy} overlay writes to`,
      options: async (l) => {
        const busy = await busyOverlay(l, strategy, 'b\\s')
        return { ...writable(l), upper: busy.upper }
      },
      code: ErrorCodes.IN_USE,
      message: /upperdir '[^']*b\\s-upper' is already the upperdir of the overlay mounted on/,
    }),
  ),
  {
    name: 'the same lower layer twice under two names (through a symlinked parent)',
    options: (l) => ({ ...base(l), lower: [l.l0, join(l.alias, 'l0')] }),
    code: INVALID,
    message: /lowerdir 1 '[^']*alias\/l0' is the same directory as lowerdir 0 '[^']*l0'/,
  },
  {
    name: 'a lower layer that is the upper dir under another name',
    options: (l) => ({ ...writable(l), lower: [join(l.alias, 'upper'), l.l1] }),
    code: INVALID,
    message: /upperdir '[^']*upper' is the same directory as lowerdir 0 '[^']*alias\/upper'/,
  },
  {
    name: 'a layer that is the target under another name',
    options: (l) => ({ ...base(l), target: join(l.alias, 'l0') }),
    code: INVALID,
    message: /lowerdir 0 is the target '[^']*alias\/l0' itself/,
  },
  {
    name: 'a lower layer inside another lower layer',
    options: (l) => {
      mkdirSync(join(l.l0, 'nested'))
      return { ...base(l), lower: [l.l0, join(l.l0, 'nested')] }
    },
    code: 'ELOOP',
    message: /overlapping layers: lowerdir 1 '[^']*l0\/nested' is inside lowerdir 0 '[^']*l0'/,
  },
  {
    name: 'a lower layer inside the upper dir',
    options: (l) => {
      mkdirSync(join(l.upper, 'nested'))
      return { ...writable(l), lower: [join(l.upper, 'nested')] }
    },
    code: 'ELOOP',
    message: /overlapping layers: lowerdir 0 '[^']*upper\/nested' is inside upperdir/,
  },
  {
    name: 'a lower layer inside another through a symlinked parent',
    options: (l) => {
      mkdirSync(join(l.l0, 'nested'))
      return { ...base(l), lower: [l.l0, join(l.alias, 'l0', 'nested')] }
    },
    code: 'ELOOP',
    message: /overlapping layers/,
  },
  {
    name: 'a work dir inside the upper dir',
    options: (l) => {
      mkdirSync(join(l.upper, 'work-inside'))
      return { ...writable(l), work: join(l.upper, 'work-inside') }
    },
    code: 'EINVAL',
    message: /workdir '[^']*upper\/work-inside' is inside upperdir '[^']*upper'/,
  },
  {
    name: 'one lower layer and no upper dir',
    options: (l) => ({ ...base(l), lower: [l.l0] }),
    code: INVALID,
    message: /lowerdir 0 '[^']*l0' is the only layer and there is no upperdir/,
  },
  {
    name: 'a target that is already a mount point',
    options: (l, t) => ({ ...base(l), target: tmpfs(t, join(l.dir, 'mounted-target')) }),
    code: ErrorCodes.TARGET_MOUNTED,
    message: /target '[^']*mounted-target' is already a mount point; pass allowStacking/,
  },
  {
    name: 'a path component over 255 bytes',
    options: (l) => ({ ...base(l), lower: [join(l.dir, 'long-'.padEnd(256, 'x')), l.l1] }),
    code: 'ENAMETOOLONG',
    message: /long-x{251}' \(opening lowerdir 0\)/,
  },
]

/** Rows refused by the options check, before any syscall. */
const OPTION_ROWS: Row[] = [
  ...(['lower', 'upper', 'work', 'target'] as const).flatMap((role): Row[] => {
    const label = role === 'lower' ? 'lower\\[0\\]' : role
    const put = (l: Layout, value: string) =>
      role === 'lower' ? { ...writable(l), lower: [value] } : { ...writable(l), [role]: value }
    return [
      {
        name: `a relative ${role} path`,
        options: (l) => put(l, `relative-${role}`),
        code: INVALID,
        message: new RegExp(`${label} 'relative-${role}' is a relative path`),
      },
      {
        name: `an empty ${role} path`,
        options: (l) => put(l, ''),
        code: INVALID,
        message: new RegExp(`${label} is an empty path`),
      },
      {
        name: `a ${role} path with a NUL byte`,
        options: (l) => put(l, join(l.dir, `nul\0${role}`)),
        code: INVALID,
        message: new RegExp(`${label} '[^']*nul\\\\0${role}' contains a NUL byte`),
      },
      {
        name: `a ${role} that is not a string`,
        options: (l) => ({
          ...put(l, ''),
          ...(role === 'lower' ? { lower: [7] } : { [role]: 7 }),
        }),
        code: INVALID,
        message: new RegExp(`${label} must be a string, got number`),
      },
    ]
  }),
  {
    name: 'upper without work',
    options: (l) => ({ ...base(l), upper: l.upper }),
    code: INVALID,
    message: /upper '[^']*upper' is given without work/,
  },
  {
    name: 'work without upper',
    options: (l) => ({ ...base(l), work: l.work }),
    code: INVALID,
    message: /work '[^']*work' is given without upper/,
  },
  {
    name: 'the same lower layer twice',
    options: (l) => ({ ...base(l), lower: [l.l0, l.l1, l.l0] }),
    code: INVALID,
    message: /lower\[2\] '[^']*l0' is listed twice \(also as lower\[0\]\)/,
  },
  {
    name: 'the same lower layer twice, spelt differently',
    options: (l) => ({ ...base(l), lower: [l.l0, `${l.dir}/./l0/`] }),
    code: INVALID,
    message: /lower\[1\] '[^']*l0' is listed twice \(also as lower\[0\]\)/,
  },
  {
    name: 'a lower layer that is also the upper dir',
    options: (l) => ({ ...writable(l), lower: [l.upper] }),
    code: INVALID,
    message: /upper '[^']*upper' is listed twice \(also as lower\[0\]\)/,
  },
  {
    name: 'the upper dir as the work dir',
    options: (l) => ({ ...writable(l), work: l.upper }),
    code: INVALID,
    message: /work '[^']*upper' is listed twice \(also as upper\)/,
  },
  {
    name: 'a lower layer that is the target',
    options: (l) => ({ ...base(l), target: l.l0 }),
    code: INVALID,
    message: /target '[^']*l0' is lower\[0\]/,
  },
  {
    name: 'the upper dir as the target',
    options: (l) => ({ ...writable(l), target: l.upper }),
    code: INVALID,
    message: /target '[^']*upper' is upper/,
  },
  {
    name: 'the target inside a lower layer',
    options: (l) => ({ ...base(l), target: join(l.l0, 'inside') }),
    code: INVALID,
    message: /target '[^']*l0\/inside' is inside lower\[0\] '[^']*l0'/,
  },
  {
    name: 'the target inside the work dir',
    options: (l) => ({ ...writable(l), target: join(l.work, 'inside') }),
    code: INVALID,
    message: /target '[^']*work\/inside' is inside work '[^']*work'/,
  },
  {
    name: 'no lower layer',
    options: (l) => ({ ...base(l), lower: [] }),
    code: INVALID,
    message: /lower is empty/,
  },
  {
    name: '501 lower layers',
    options: (l) => ({
      ...base(l),
      lower: Array.from({ length: 501 }, (_, i) => join(l.dir, 'never', String(i))),
    }),
    code: ErrorCodes.TOO_MANY_LAYERS,
    message: /501 lower layers requested, more than the kernel's limit of 500/,
  },
  {
    name: '499 lower and 2 data-only layers',
    options: (l) => ({
      ...base(l),
      lower: Array.from({ length: 499 }, (_, i) => join(l.dir, 'never', String(i))),
      data: [join(l.dir, 'd0'), join(l.dir, 'd1')],
    }),
    code: ErrorCodes.TOO_MANY_LAYERS,
    message: /501 lower layers requested, more than the kernel's limit of 500/,
  },
  {
    name: 'metacopy=on with userxattr',
    options: (l) => ({ ...writable(l), options: ['metacopy=on', 'userxattr'] }),
    code: INVALID,
    message: /options 'metacopy=on' and 'userxattr' conflict/,
  },
  {
    name: 'data-only layers (metacopy=on implied) with userxattr',
    options: (l) => ({ ...base(l), data: [join(l.dir, 'data')], options: ['userxattr'] }),
    code: INVALID,
    message: /options 'metacopy=on' and 'userxattr' conflict/,
  },
  ...[
    ['metacopy=on', 'redirect_dir=off'],
    ['metacopy=on', 'nfs_export=on'],
    ['userxattr', 'redirect_dir=on'],
    ['nfs_export=on', 'index=off'],
  ].map(
    ([a, b]): Row => ({
      name: `${a} with ${b}`,
      options: (l) => ({ ...writable(l), options: [b, a] }),
      code: INVALID,
      message: new RegExp(`options '${a}' and '${b}' conflict`),
    }),
  ),
  {
    name: 'data-only layers (metacopy=on implied) with redirect_dir=nofollow',
    options: (l) => ({
      ...base(l),
      data: [join(l.dir, 'data')],
      options: ['redirect_dir=nofollow'],
    }),
    code: INVALID,
    message: /options 'metacopy=on' and 'redirect_dir=nofollow' conflict/,
  },
  {
    name: 'an unknown flag',
    options: (l) => ({ ...base(l), options: ['frobnicate'] }),
    code: INVALID,
    message: /unknown overlay option 'frobnicate'/,
  },
  {
    name: 'an unknown key with a value',
    options: (l) => ({ ...base(l), options: ['colour=blue'] }),
    code: INVALID,
    message: /unknown overlay option 'colour=blue'/,
  },
  ...['lowerdir', 'upperdir', 'workdir', 'lowerdir+', 'datadir+'].map(
    (key): Row => ({
      name: `a layer key as an option (${key}=...)`,
      options: (l) => ({ ...base(l), options: [`${key}=${l.l1}`] }),
      code: INVALID,
      message: new RegExp(`option '${key.replace('+', '\\+')}=[^']*l1' cannot be given`),
    }),
  ),
  {
    name: 'a value an option does not take',
    options: (l) => ({ ...base(l), options: ['index=maybe'] }),
    code: INVALID,
    message: /option 'index=maybe' needs one of index=on\|off/,
  },
  {
    name: 'an empty value',
    options: (l) => ({ ...base(l), options: ['redirect_dir='] }),
    code: INVALID,
    message: /option 'redirect_dir=' needs one of redirect_dir=on\|off/,
  },
  {
    name: 'a value for a flag',
    options: (l) => ({ ...base(l), options: ['userxattr=1'] }),
    code: INVALID,
    message: /option 'userxattr' takes no value, got 'userxattr=1'/,
  },
  {
    name: 'a second option smuggled in after a comma',
    options: (l) => ({ ...base(l), options: [`index=off,upperdir=${l.upper}`] }),
    code: INVALID,
    message: /option 'index=off,upperdir=[^']*upper' needs one of index=on\|off/,
  },
  {
    name: 'one option twice',
    options: (l) => ({ ...base(l), options: ['index=off', 'index=on'] }),
    code: INVALID,
    message: /option 'index' is given twice/,
  },
  {
    name: 'volatile on a read-only overlay',
    options: (l) => ({ ...base(l), options: ['volatile'] }),
    code: INVALID,
    message: /option 'volatile' needs an upper layer/,
  },
  {
    name: 'an empty option',
    options: (l) => ({ ...base(l), options: [''] }),
    code: INVALID,
    message: /an extra option must be a non-empty string/,
  },
  {
    name: 'options as a string',
    options: (l) => ({ ...base(l), options: 'index=off' }),
    code: INVALID,
    message: /options must be an array of strings/,
  },
  ...['bogus', 'FD', 'lowerdir', 'legacy', ''].map(
    (strategy): Row => ({
      name: `the strategy '${strategy}'`,
      options: (l) => ({ ...base(l), strategy }),
      code: INVALID,
      message: new RegExp(`unknown strategy '${strategy}' \\(known: auto, fd,`),
    }),
  ),
  {
    name: 'a path over 4096 bytes',
    options: (l) => ({ ...base(l), lower: [join(l.dir, `${'d'.repeat(200)}/`.repeat(21)), l.l1] }),
    code: 'ENAMETOOLONG',
    message: /(d{200}\/){20}d{200}' \(opening lowerdir 0\)/,
  },
  {
    name: 'lower as a string',
    options: (l) => ({ ...base(l), lower: l.l0 }),
    code: INVALID,
    message: /lower must be an array of absolute paths/,
  },
  {
    name: 'data as a string',
    options: (l) => ({ ...base(l), data: l.l1 }),
    code: INVALID,
    message: /data must be an array of absolute paths/,
  },
  {
    name: 'a number',
    options: () => 42,
    code: INVALID,
    message: /mount options must be an object/,
  },
  { name: 'null', options: () => null, code: INVALID, message: /mount options must be an object/ },
  {
    name: 'a path string instead of options',
    options: (l) => l.l0,
    code: INVALID,
    message: /mount options must be an object/,
  },
  {
    name: 'an array instead of options',
    options: (l) => [l.l0],
    code: INVALID,
    message: /lower must be an array of absolute paths/,
  },
]

let warm = false

/** One row: laid out, refused as the row says, and nothing left over. */
async function refuses(t: ExecutionContext, row: Row, strategy?: Strategy): Promise<void> {
  const dir = sandbox(t, 'bad')
  if (!warm) {
    await warmUp(dir)
    warm = true
  }
  const l = layout(dir)
  const built = await row.options(l, t)
  const options =
    strategy && built !== null && typeof built === 'object' ? { ...built, strategy } : built
  const before = counts(dir)

  const err = await t.throwsAsync(mount(options as MountOptions), { instanceOf: OverlayError })
  t.is(err?.name, 'OverlayError')
  t.is(err?.code, row.code, err?.message)
  t.regex(err?.message ?? '', row.message)
  if (/^E[A-Z]+$/.test(row.code)) {
    t.is(typeof err?.errno, 'number', 'a failed syscall has its errno')
    t.is(typeof err?.syscall, 'string', 'and names the syscall')
  }

  assertNothingLeft(t, before, counts(dir))
}

for (const row of [...CORE_ROWS, ...OPTION_ROWS]) {
  test.serial(`refuses ${row.name}`, (t) => refuses(t, row))
}

for (const strategy of STRATEGIES) {
  for (const row of CORE_ROWS.filter((r) => r.code !== 'ENAMETOOLONG')) {
    test.serial(`${strategy}: refuses ${row.name}`, (t) => refuses(t, row, strategy))
  }
}

test.serial('the catalogue has at least 40 rows', (t) => {
  t.true(CORE_ROWS.length + OPTION_ROWS.length >= 40)
})
