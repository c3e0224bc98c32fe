/**
 * C03: layer counts at and past the kernel's limit of 500 lower layers (`OVL_MAX_STACK`),
 * data-only layers included. Past it, the refusal comes before any syscall.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'
import type { ExecutionContext } from 'ava'

import { ErrorCodes, OverlayError, STRATEGIES, findMount, mount, plan, probeSync } from '../src'
import type { MountOptions, Strategy } from '../src'
import { native } from '../src/native'
import {
  assertListed,
  assertMerged,
  assertNothingMounted,
  keepingCwd,
  layLower,
  makeDirs,
  newApiStrategy,
} from './helpers/layers'
import { counts, newFds, warmUp } from './helpers/leaks'
import { sandbox } from './helpers/sandbox'

const LIMIT = 500

/** `count` short lower layers `<dir>/l/<i>` and `data` data-only ones `<dir>/d/<i>`. */
function layers(dir: string, count: number, data = 0): MountOptions & { data: string[] } {
  const lower = Array.from({ length: count }, (_, i) => join(dir, 'l', String(i)))
  const dataLayers = Array.from({ length: data }, (_, i) => join(dir, 'd', String(i)))
  const [upper, work, target] = ['u', 'w', 'm'].map((n) => join(dir, n))
  return { lower, data: dataLayers, upper, work, target }
}

/** Creates the directories of `options`; data-only layers get a marker of their own. */
function lay(options: MountOptions): void {
  layLower(options.lower)
  layLower(options.data ?? [])
  makeDirs(options.upper as string, options.work as string, options.target)
}

/** Asserts `err` is the refusal of `count` layers, with the limit and the count in it. */
function assertTooMany(t: ExecutionContext, err: unknown, count: number): void {
  t.true(err instanceof OverlayError, String(err))
  const e = err as OverlayError
  t.is(e.code, ErrorCodes.TOO_MANY_LAYERS)
  t.is(e.limit, LIMIT)
  t.is(e.limit, probeSync().maxLowerLayers)
  t.is(e.count, count)
  t.regex(e.message, new RegExp(`\\b${count}\\b`))
  t.regex(e.message, new RegExp(`\\blimit of ${LIMIT}\\b`))
  t.is(e.errno, undefined)
  t.is(e.syscall, undefined)
}

test('the limit the package reports is the kernel stack limit of 500', (t) => {
  t.is(probeSync().maxLowerLayers, LIMIT)
})

const mounts: [number, 'auto' | Strategy][] = [
  [128, 'auto'],
  [129, 'auto'],
  [500, 'auto'],
  [500, 'procfd'],
  [500, 'relative'],
]
for (const [count, strategy] of mounts) {
  test(`${count} short lower layers mount with ${strategy}`, async (t) => {
    const dir = sandbox(t, 'c03')
    const options = layers(dir, count)
    lay(options)
    const m = await keepingCwd(t, () => mount({ ...options, strategy }))

    t.is(m.strategy, strategy === 'auto' ? newApiStrategy() ?? m.plan.strategy : strategy)
    t.is(m.layers, count)
    if (m.strategy !== 'fd' && m.strategy !== 'lowerdir+') t.true(m.dataBytes < m.pageSize)
    assertMerged(t, options.target, options.lower)
    await assertListed(t, m, options.lower)
    await m.unmount()
    await assertNothingMounted(t, dir, options.target)
  })
}

test('400 lower and 100 data-only layers add up to 500 and mount', async (t) => {
  const dir = sandbox(t, 'c03')
  const options = layers(dir, 400, 100)
  lay(options)
  const m = await mount(options)

  t.is(m.layers, 500)
  t.deepEqual(m.plan.options, ['metacopy=on'])
  // Data-only layers are never part of the merged view: only the 400 lower ones are.
  assertMerged(t, options.target, options.lower)
  const entry = await findMount(options.target)
  if (m.strategy === 'fd' || m.strategy === 'lowerdir+') {
    t.deepEqual(entry?.lowerdirs, options.lower)
    t.deepEqual(entry?.datadirs, options.data)
  } else {
    t.is(entry?.lowerdirs.length, 400)
    t.is(entry?.datadirs.length, 100)
  }
  await m.unmount()
  await assertNothingMounted(t, dir, options.target)
})

/** Layer counts past the limit; `true`: the layers exist, `false`: they do not either. */
const refusals: [number, number, boolean][] = [
  [501, 0, true],
  [400, 101, true],
  [500, 1, false],
  [1, 500, false],
  [1000, 0, false],
]
for (const [count, data, exist] of refusals) {
  const name = data ? `${count} lower and ${data} data-only layers` : `${count} lower layers`
  const which = exist ? 'existing' : 'missing'
  // Serial, before the mounting tests, so that the count of open descriptors holds still.
  test.serial(`${name}, ${which}, are refused before any syscall`, async (t) => {
    const dir = sandbox(t, 'c03')
    const options = layers(exist ? dir : join(dir, 'missing'), count, data)
    if (exist) lay(options)
    t.is(existsSync(options.lower[0]), exist)
    assertTooMany(t, t.throws(() => plan(options)), count + data)
    // Node opens and closes descriptors of its own; what must not appear is a new one.
    await warmUp(dir)
    const before = counts(dir)

    for (const strategy of ['auto', ...STRATEGIES] as const) {
      assertTooMany(t, t.throws(() => plan({ ...options, strategy })), count + data)
      assertTooMany(t, await t.throwsAsync(mount({ ...options, strategy })), count + data)
    }
    t.deepEqual(newFds(before, counts(dir)), [])
    await assertNothingMounted(t, dir, options.target)
  })
}

test('501 layers that do not exist are refused for their count, not for ENOENT', async (t) => {
  const dir = sandbox(t, 'c03')
  const options = layers(join(dir, 'missing'), 501)
  t.false(existsSync(options.lower[0]))
  assertTooMany(t, await t.throwsAsync(mount(options)), 501)
  assertTooMany(t, await t.throwsAsync(mount({ ...options, strategy: 'fd' })), 501)
})

test('the core refuses 501 layers too, before it opens any of them', async (t) => {
  const dir = sandbox(t, 'c03')
  const options = layers(join(dir, 'missing'), 500)
  const request = plan({ ...options, strategy: 'fd' }).request
  for (const strategy of ['fd', 'lowerdir+', 'procfd']) {
    const lower = [...request.lower, join(dir, 'missing', 'l', '500')]
    const failure = await native().mount({ ...request, strategy, lower })
    t.is(failure?.code, ErrorCodes.TOO_MANY_LAYERS)
    t.regex(failure?.message ?? '', /\b501\b/)
    t.regex(failure?.message ?? '', /\blimit of 500\b/)
    t.is(failure?.errno ?? null, null)
  }
  await assertNothingMounted(t, dir, options.target)
})
