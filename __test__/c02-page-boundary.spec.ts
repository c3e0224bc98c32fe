/**
 * C02: legacy mount data of page size - 2, - 1, exactly page size and + 1 bytes. The kernel
 * keeps at most page size - 1 bytes and silently cuts the rest, so data of page size bytes
 * or more must never reach mount(2), not even when the cut would name another directory.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'
import type { ExecutionContext } from 'ava'

import { ErrorCodes, OverlayError, findMount, mount, plan, probeSync } from '../src'
import type { MountOptions } from '../src'
import { native } from '../src/native'
import {
  assertListed,
  assertMerged,
  assertNothingMounted,
  layLower,
  legacyKernel,
  makeDirs,
  marker,
  newApiStrategy,
} from './helpers/layers'
import { overlaysUnder, sandbox } from './helpers/sandbox'

const page = probeSync().pageSize

/** Features with a page so large that `absolute` never refuses: to measure any data. */
const unbounded = { ...probeSync(), pageSize: 2 ** 30 }

/** The legacy mount data of `options` with absolute paths, spelled out here. */
function absoluteData(options: MountOptions): string {
  const parts = [`lowerdir=${options.lower.join(':')}`]
  if (options.upper) parts.push(`upperdir=${options.upper}`, `workdir=${options.work}`)
  if (options.upper && probeSync().userNamespace) parts.push('userxattr')
  return parts.join(',')
}

/**
 * Options whose absolute legacy data is exactly `bytes` long: filler layers of about 170
 * bytes, then one layer whose name is padded to the byte, then the layers of `tail`.
 */
function sized(dir: string, bytes: number, tail: string[], writable: boolean): MountOptions {
  const root = join(dir, 's')
  const filler = (i: number) => join(root, `f${i}-${'f'.repeat(150)}`)
  const pad = (k: number) => join(root, `p${'x'.repeat(k)}`)
  const target = join(dir, 'merged')
  const rw = writable ? { upper: join(dir, 'upper'), work: join(dir, 'work') } : {}
  const build = (n: number, k: number): MountOptions => {
    const lower = [...Array.from({ length: n }, (_, i) => filler(i)), pad(k), ...tail]
    return { lower, target, ...rw }
  }
  const measure = (o: MountOptions) => Buffer.byteLength(absoluteData(o))

  let n = 0
  while (measure(build(n + 1, 0)) <= bytes) n++
  const k = bytes - measure(build(n, 0))
  if (k < 0 || k > 254) throw new Error(`cannot pad to ${bytes} bytes (${k})`)
  return build(n, k)
}

/** Creates the directories of `options` on disk. */
function lay(options: MountOptions): void {
  layLower(options.lower)
  makeDirs(options.target, ...(options.upper ? [options.upper, options.work as string] : []))
}

/** Asserts the planner measures `options` at exactly `bytes` of absolute data. */
function assertBytes(t: ExecutionContext, options: MountOptions, bytes: number): void {
  const measured = plan({ ...options, strategy: 'absolute' }, unbounded)
  t.is(measured.data, absoluteData(options))
  t.is(measured.dataBytes, bytes)
  t.is(Buffer.byteLength(measured.data ?? ''), bytes)
}

/** Asserts forcing `absolute` is refused with the numbers, before anything is mounted. */
function assertRefused(t: ExecutionContext, options: MountOptions, bytes: number) {
  const err = t.throws(() => plan({ ...options, strategy: 'absolute' }), {
    instanceOf: OverlayError,
  })
  t.is(err?.code, ErrorCodes.DATA_TOO_LONG)
  t.is(err?.bytes, bytes)
  t.is(err?.pageSize, page)
  t.is(err?.strategy, 'absolute')
  t.regex(err?.message ?? '', new RegExp(`\\b${bytes} bytes\\b`))
  t.regex(err?.message ?? '', new RegExp(`\\bpage ${page}\\b`))
}

for (const delta of [-2, -1, 0, 1]) {
  const bytes = page + delta
  const name = delta === 0 ? 'page size' : `page size ${delta < 0 ? '-' : '+'} ${Math.abs(delta)}`

  test(`absolute data of ${name} (${bytes} bytes) is measured to the byte`, (t) => {
    assertBytes(t, sized('/c02', bytes, [], true), bytes)
    assertBytes(t, sized('/c02', bytes, [], false), bytes)
  })

  const outcome = delta < 0 ? 'mounts' : 'is refused'
  test(`forced absolute with ${name} of data ${outcome}`, async (t) => {
    const dir = sandbox(t, 'c02')
    const options = sized(dir, bytes, [], true)
    lay(options)
    assertBytes(t, options, bytes)

    if (delta >= 0) {
      assertRefused(t, options, bytes)
      const err = await t.throwsAsync(mount({ ...options, strategy: 'absolute' }))
      t.is((err as OverlayError).code, ErrorCodes.DATA_TOO_LONG)
      await assertNothingMounted(t, dir, options.target)
      return
    }
    const m = await mount({ ...options, strategy: 'absolute' })
    t.is(m.strategy, 'absolute')
    t.is(m.dataBytes, bytes)
    t.is(m.pageSize, page)
    assertMerged(t, options.target, options.lower)
    await assertListed(t, m, options.lower)
    await m.unmount()
    await assertNothingMounted(t, dir, options.target)
  })

  test(`auto with ${name} of data mounts on this kernel and on a legacy one`, async (t) => {
    const dir = sandbox(t, 'c02')
    const options = sized(dir, bytes, [], true)
    lay(options)

    const m = await mount(options)
    t.is(m.strategy, newApiStrategy() ?? (delta < 0 ? 'absolute' : 'relative'))
    assertMerged(t, options.target, options.lower)
    await assertListed(t, m, options.lower)
    await m.unmount()

    const legacy = await mount(options, { features: legacyKernel() })
    const rejected = legacy.plan.rejected
    if (delta < 0) {
      t.is(legacy.strategy, 'absolute')
      t.is(legacy.dataBytes, bytes)
      t.deepEqual(rejected.map((r) => r.strategy), ['fd', 'lowerdir+'])
    } else {
      t.is(legacy.strategy, 'relative')
      t.true(legacy.dataBytes < page)
      t.deepEqual(rejected.map((r) => r.strategy), ['fd', 'lowerdir+', 'absolute'])
      t.is(rejected[2].code, ErrorCodes.DATA_TOO_LONG)
      t.is(rejected[2].reason, `data ${bytes} bytes >= page ${page}`)
    }
    assertMerged(t, options.target, options.lower)
    await assertListed(t, legacy, options.lower)
    await legacy.unmount()
    await assertNothingMounted(t, dir, options.target)
  })
}

/**
 * The truncation trap: read-only layers whose data ends in `<root>/t/12` (page size bytes)
 * or `<root>/t/123` (page size + 1), so that the kernel's cut at page size - 1 would name
 * the sibling `<root>/t/1`, which exists and holds a file of its own.
 */
for (const last of ['12', '123']) {
  test(`data cut at page size - 1 would name t/1, not t/${last}: never mounted`, async (t) => {
    const dir = sandbox(t, 'c02')
    const root = join(dir, 's')
    const trap = join(root, 't', '1')
    const bytes = page - 2 + last.length
    const options = sized(dir, bytes, [join(root, 't', last)], false)
    lay(options)
    mkdirSync(trap, { recursive: true })
    writeFileSync(join(trap, 'trap'), 'the cut data named this layer\n')

    assertBytes(t, options, bytes)
    const data = absoluteData(options)
    const cut = Buffer.from(data).subarray(0, page - 1).toString()
    t.true(cut.endsWith(`:${trap}`), 'the trap is set: the cut data ends in t/1')
    assertRefused(t, options, bytes)

    // The core refuses the whole data too, even from a caller that skips the planner.
    const request = plan({ ...options, strategy: 'absolute' }, unbounded).request
    const failure = await native().mount(request)
    t.is(failure?.code, ErrorCodes.DATA_TOO_LONG)
    t.regex(failure?.message ?? '', new RegExp(`\\b${bytes} bytes\\b`))
    await assertNothingMounted(t, dir, options.target)

    const top = options.lower.length - 1
    for (const features of [probeSync(), legacyKernel()]) {
      const m = await mount(options, { features })
      t.not(m.strategy, 'absolute')
      const entry = await findMount(options.target)
      const listed = m.strategy === 'relative' ? m.plan.lower : options.lower
      t.deepEqual(entry?.lowerdirs, listed)
      t.false(entry?.lowerdirs.some((l) => l === trap || l === 't/1'))
      assertMerged(t, options.target, options.lower)
      t.false(existsSync(join(options.target, 'trap')))
      t.true(existsSync(join(options.target, marker(top))))
      for (const point of overlaysUnder(dir)) {
        const other = await findMount(point)
        t.false(other?.lowerdirs.some((l) => l === trap || l === 't/1'), point)
      }
      await m.unmount()
    }
    await assertNothingMounted(t, dir, options.target)
  })
}
