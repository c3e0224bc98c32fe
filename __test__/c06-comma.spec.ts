/**
 * C06: a comma in a directory name. Legacy mount data separates options at `,`, so no path
 * holding one may ever be handed to mount(2) in it; the new mount API and `procfd` carry
 * such paths whole. A name like `x,upperdir=<dir>` must never make the kernel use `<dir>`.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { ErrorCodes, OverlayError, findMount, isMounted, mount, plan } from '../src'
import type { MountOptions, Strategy } from '../src'
import { overlaysAt } from './helpers/mountinfo-raw'
import { sandbox } from './helpers/sandbox'

const LEGACY: Strategy[] = ['absolute', 'relative']
const CARRIERS: Strategy[] = ['fd', 'lowerdir+', 'procfd']

interface CommaStore {
  lower: string
  upper: string
  work: string
  target: string
  /** Where a path split at its comma would point: these must stay untouched. */
  splitUpper: string
  splitLower: string
}

/** Lower `low,er`, upper `upper,dir`, and the directories a split at `,` would name. */
function commaStore(dir: string): CommaStore {
  const store = {
    lower: join(dir, 'low,er'),
    upper: join(dir, 'upper,dir'),
    work: join(dir, 'work'),
    target: join(dir, 'merged'),
    splitUpper: join(dir, 'upper'),
    splitLower: join(dir, 'low'),
  }
  for (const d of Object.values(store)) mkdirSync(d, { recursive: true })
  writeFileSync(join(store.lower, 'from-low,er'), 'low,er\n')
  writeFileSync(join(store.splitLower, 'from-low'), 'low\n')
  return store
}

function options(store: CommaStore, strategy: Strategy | 'auto'): MountOptions {
  const { lower, upper, work, target } = store
  return { lower: [lower], upper, work, target, strategy }
}

for (const strategy of LEGACY) {
  for (const role of ['lower', 'upper'] as const) {
    test(`${strategy} refuses a comma in ${role} before any syscall`, async (t) => {
      const dir = sandbox(t)
      const store = commaStore(dir)
      const plain = join(dir, 'plain')
      mkdirSync(plain)
      // A target that does not exist: had any syscall run, it would fail with ENOENT.
      const target = join(dir, 'no-such-target')
      const opts: MountOptions = {
        lower: [role === 'lower' ? store.lower : plain],
        upper: role === 'upper' ? store.upper : join(dir, 'plain-upper'),
        work: store.work,
        target,
        strategy,
      }
      const [label, named] = role === 'lower' ? ['lower[0]', store.lower] : ['upper', store.upper]
      const expected = `strategy ${strategy} cannot mount this: ${label} '${named}' contains ','`

      const fromPlan = t.throws(() => plan(opts), { instanceOf: OverlayError })
      const err = await t.throwsAsync(mount(opts), { instanceOf: OverlayError })
      for (const e of [fromPlan, err]) {
        t.is((e as OverlayError).code, ErrorCodes.INVALID_OPTIONS)
        t.is(e?.message, `${expected}, which legacy mount data cannot carry`)
        t.is((e as OverlayError).strategy, strategy)
        t.is((e as OverlayError).errno, undefined)
        t.is((e as OverlayError).syscall, undefined)
      }
      t.false(await isMounted(target))
    })
  }
}

for (const strategy of CARRIERS) {
  test(`${strategy} mounts 'low,er' with upper 'upper,dir'`, async (t) => {
    const store = commaStore(sandbox(t))
    const m = await mount(options(store, strategy))
    t.is(m.strategy, strategy)

    t.deepEqual(readdirSync(store.target), ['from-low,er'])
    t.is(readFileSync(join(store.target, 'from-low,er'), 'utf8'), 'low,er\n')

    writeFileSync(join(store.target, 'written'), strategy)
    t.is(readFileSync(join(store.upper, 'written'), 'utf8'), strategy)
    t.deepEqual(readdirSync(store.splitUpper), [])
    t.deepEqual(readdirSync(store.splitLower), ['from-low'])

    const entry = await findMount(store.target)
    const option = (key: string) => entry?.superOptions.find((o) => o.key === key)?.value
    if (strategy === 'procfd') {
      // Layers go by descriptor; upper and work by path unless a comma forces a descriptor.
      t.regex(entry?.lowerdirs.join(' ') ?? '', /^\d+$/)
      t.regex(option('upperdir') ?? '', /^\d+$/)
    } else {
      t.deepEqual(entry?.lowerdirs, [store.lower])
      t.is(option('upperdir'), store.upper)
    }
    t.is(option('workdir'), store.work)
    t.is(overlaysAt(store.target).length, 1)
    await m.unmount()
    t.false(await isMounted(store.target))
  })
}

test('auto mounts comma paths with fd', async (t) => {
  const store = commaStore(sandbox(t))
  const m = await mount(options(store, 'auto'))
  t.is(m.strategy, 'fd')
  writeFileSync(join(store.target, 'written'), 'auto')
  t.is(readFileSync(join(store.upper, 'written'), 'utf8'), 'auto')
  t.deepEqual(readdirSync(store.splitUpper), [])
  await m.unmount()
})

interface Injection {
  /** The lower layer whose name holds the options. */
  evil: string
  /** The directories the options name: the kernel must never use them. */
  other: string
  otherWork: string
}

/**
 * A lower named `x,upperdir=<other>,workdir=<otherWork>` with every directory that a split
 * at its commas would name made real, so that a split would mount and write into `other`.
 */
function injection(dir: string): Injection {
  const other = join(dir, 'other')
  const otherWork = join(dir, 'other-work')
  const evil = join(dir, `x,upperdir=${other},workdir=${otherWork}`)
  for (const d of [evil, join(dir, 'x'), other, otherWork]) mkdirSync(d, { recursive: true })
  writeFileSync(join(evil, 'marker'), 'evil\n')
  return { evil, other, otherWork }
}

for (const strategy of LEGACY) {
  test(`${strategy} refuses a lower named 'x,upperdir=<dir>'`, async (t) => {
    const dir = sandbox(t)
    const inj = injection(dir)
    const target = join(dir, 'merged')
    mkdirSync(target)
    const err = await t.throwsAsync(mount({ lower: [inj.evil], target, strategy }))
    t.is((err as OverlayError).code, ErrorCodes.INVALID_OPTIONS)
    t.true(err?.message.includes(`'${inj.evil}'`), err?.message)
    t.false(await isMounted(target))
  })
}

for (const strategy of [...CARRIERS, 'auto'] as const) {
  test(`${strategy}: a lower named 'x,upperdir=<dir>' never makes <dir> the upper`, async (t) => {
    const dir = sandbox(t)
    const inj = injection(dir)
    const target = join(dir, 'merged')
    mkdirSync(target)

    // Read-only (the kernel needs two lowers then), the name last in the lowerdir list: a
    // split would make this a writable overlay on `other`.
    const base = join(dir, 'base')
    mkdirSync(base)
    writeFileSync(join(base, 'base-marker'), 'base\n')
    const ro = await mount({ lower: [base, inj.evil], target, strategy })
    t.deepEqual(readdirSync(target).sort(), ['base-marker', 'marker'])
    const rofs = t.throws(() => writeFileSync(join(target, 'written'), 'x'))
    t.is((rofs as NodeJS.ErrnoException).code, 'EROFS')
    const entry = await findMount(target)
    t.deepEqual(entry?.superOptions.filter((o) => o.key === 'upperdir'), [])
    if (strategy === 'procfd') t.is(entry?.lowerdirs.length, 2)
    else t.deepEqual(entry?.lowerdirs, [base, inj.evil])
    await ro.unmount()

    // Writable: the writes land in the real upper only.
    const upper = join(dir, 'upper')
    const work = join(dir, 'work')
    for (const d of [upper, work]) mkdirSync(d)
    const rw = await mount({ lower: [inj.evil], upper, work, target, strategy })
    writeFileSync(join(target, 'written'), strategy)
    t.is(readFileSync(join(upper, 'written'), 'utf8'), strategy)
    const shown = (await findMount(target))?.superOptions.find((o) => o.key === 'upperdir')
    t.is(shown?.value, upper)
    await rw.unmount()

    t.deepEqual(readdirSync(inj.other), [])
    t.deepEqual(readdirSync(inj.otherWork), [])
  })
}
