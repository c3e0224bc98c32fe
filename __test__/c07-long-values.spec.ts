/**
 * C07: new-API values over 255 bytes. `fsconfig(2)` copies at most 255 bytes of one string
 * value, so layers go one value per layer, each short enough: by a path relative to the
 * layers' common directory, or by descriptor. A value that stays too long is refused before
 * any syscall.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'

import test from 'ava'

import { ErrorCodes, OverlayError, findMount, isMounted, mount, plan, probeSync } from '../src'
import type { MountOptions } from '../src'
import { overlaysAt } from './helpers/mountinfo-raw'
import { sandbox } from './helpers/sandbox'

const VALUE_MAX = 255

/** Makes each of `lower` with a marker file named for its index; adds upper, work, target. */
function layOut(dir: string, lower: string[]): MountOptions & { upper: string } {
  lower.forEach((layer, i) => {
    mkdirSync(layer, { recursive: true })
    writeFileSync(join(layer, `marker-${i}`), `${layer}\n`)
  })
  const [upper, work, target] = ['upper', 'work', 'merged'].map((n) => join(dir, n))
  for (const d of [upper, work, target]) mkdirSync(d, { recursive: true })
  return { lower, upper, work, target }
}

/** A name of exactly `bytes` bytes that starts with `prefix`. */
function nameOf(prefix: string, bytes: number): string {
  return prefix + 'n'.repeat(bytes - prefix.length)
}

/** An absolute path of exactly `bytes` bytes under `dir`, through directories of 100 bytes. */
function pathOf(dir: string, bytes: number): string {
  let path = join(dir, 'long')
  while (bytes - path.length > 200) path = join(path, nameOf('d', 100))
  return join(path, nameOf('leaf-', bytes - path.length - 1))
}

function fiveLayers(dir: string): MountOptions & { upper: string } {
  const names = Array.from({ length: 5 }, (_, i) => nameOf(`layer-${i}-`, 52))
  return layOut(dir, names.map((n) => join(dir, n)))
}

function assertMerged(t: import('ava').ExecutionContext, opts: MountOptions): void {
  const markers = opts.lower.map((_, i) => `marker-${i}`)
  t.deepEqual(readdirSync(opts.target).sort(), markers)
  opts.lower.forEach((layer, i) => {
    t.is(readFileSync(join(opts.target, markers[i]), 'utf8'), `${layer}\n`)
  })
}

test('five 52-byte layers mount by lowerdir+, one value per layer', async (t) => {
  const dir = sandbox(t)
  const opts = fiveLayers(dir)
  const names = opts.lower.map((p) => basename(p))
  t.true(names.every((n) => Buffer.byteLength(n) === 52))
  t.is(names.join(':').length, 264)
  t.true(opts.lower.join(':').length > VALUE_MAX, 'one joined lowerdir= value would not fit')

  const m = await mount({ ...opts, strategy: 'lowerdir+' })
  t.is(m.strategy, 'lowerdir+')
  t.is(m.plan.cwd, null)
  t.deepEqual(m.plan.lower, opts.lower)
  t.is(m.plan.valueBytes, Math.max(...[...opts.lower, opts.upper].map((p) => p.length)))
  t.true(m.plan.valueBytes <= VALUE_MAX)
  assertMerged(t, opts)

  const [line] = overlaysAt(opts.target)
  t.is(line.superOptions.split(',').filter((o) => o.startsWith('lowerdir+=')).length, 5)
  t.false(line.superOptions.split(',').some((o) => o.startsWith('lowerdir=')))
  t.deepEqual((await findMount(opts.target))?.lowerdirs, opts.lower)

  writeFileSync(join(opts.target, 'written'), 'five')
  t.is(readFileSync(join(opts.upper, 'written'), 'utf8'), 'five')
  await m.unmount()
})

test('five 52-byte layers mount by fd', async (t) => {
  const opts = fiveLayers(sandbox(t))
  const m = await mount({ ...opts, strategy: 'fd' })
  t.is(m.strategy, 'fd')
  assertMerged(t, opts)
  t.deepEqual((await findMount(opts.target))?.lowerdirs, opts.lower)
  await m.unmount()
})

test('a 300-byte lower mounts by lowerdir+ from a cwd, with a value <= 255', async (t) => {
  const dir = sandbox(t)
  const long = pathOf(dir, 300)
  t.is(Buffer.byteLength(long), 300)
  const opts = layOut(dir, [long])

  const m = await mount({ ...opts, strategy: 'lowerdir+' })
  t.is(m.strategy, 'lowerdir+')
  // The only layer is its own common directory: the cwd is its parent.
  t.is(m.plan.cwd, dirname(long))
  t.deepEqual(m.plan.lower, [basename(long)])
  t.is(m.plan.upper, opts.upper)
  t.true(m.plan.valueBytes <= VALUE_MAX, `${m.plan.valueBytes} bytes`)
  t.is(m.plan.valueBytes, Math.max(basename(long).length, opts.upper.length))
  assertMerged(t, opts)

  // The kernel lists a lowerdir+ value as it was given.
  t.deepEqual((await findMount(opts.target))?.lowerdirs, [basename(long)])
  writeFileSync(join(opts.target, 'written'), 'long')
  t.is(readFileSync(join(opts.upper, 'written'), 'utf8'), 'long')
  await m.unmount()
})

test('a 300-byte lower mounts by fd', async (t) => {
  const dir = sandbox(t)
  const long = pathOf(dir, 300)
  const opts = layOut(dir, [long])
  const m = await mount({ ...opts, strategy: 'fd' })
  t.is(m.plan.cwd, null)
  assertMerged(t, opts)
  t.deepEqual((await findMount(opts.target))?.lowerdirs, [long])
  await m.unmount()
})

test('a 300-byte and a short lower in one directory mount by relative values', async (t) => {
  const dir = sandbox(t)
  const common = join(dir, 'c', nameOf('d', 100))
  const long = join(common, nameOf('leaf-', 300 - common.length - 1))
  const short = join(common, nameOf('short-', 52))
  t.is(Buffer.byteLength(long), 300)
  const opts = layOut(dir, [long, short])

  const m = await mount({ ...opts, strategy: 'lowerdir+' })
  t.is(m.plan.cwd, common)
  t.deepEqual(m.plan.lower, [basename(long), basename(short)])
  t.true(m.plan.lower.every((v) => Buffer.byteLength(v) <= VALUE_MAX))
  assertMerged(t, opts)
  t.deepEqual((await findMount(opts.target))?.lowerdirs, m.plan.lower)
  await m.unmount()
})

test('a value > 255 even relative: forced lowerdir+ refuses before any syscall', async (t) => {
  const dir = sandbox(t)
  // Common directory `dir`; relative to it the first layer is still over 255 bytes.
  const deep = join(dir, 'a', nameOf('x', 200), nameOf('y', 100))
  const shallow = join(dir, 'b')
  const relative = deep.slice(dir.length + 1)
  t.is(Buffer.byteLength(relative), 1 + 1 + 200 + 1 + 100)
  const opts = layOut(dir, [deep, shallow])
  // A target that does not exist: had any syscall run, it would fail with ENOENT.
  const target = join(dir, 'no-such-target')
  const forced: MountOptions = { ...opts, target, strategy: 'lowerdir+' }

  const expected = {
    instanceOf: OverlayError,
    code: ErrorCodes.VALUE_TOO_LONG,
    message:
      `strategy lowerdir+ cannot mount this: lower[0] path ${relative.length} bytes > ` +
      `${VALUE_MAX} even relative to '${dir}'`,
  }
  const fromPlan = t.throws(() => plan(forced), expected) as OverlayError
  const err = (await t.throwsAsync(mount(forced), expected)) as OverlayError
  for (const e of [fromPlan, err]) {
    t.is(e.bytes, relative.length)
    t.is(e.limit, probeSync().fsconfigValueMax)
    t.is(e.strategy, 'lowerdir+')
    t.is(e.syscall, undefined)
  }
  t.false(await isMounted(opts.target))

  // By descriptor the same layers mount, and auto takes that.
  const m = await mount(opts)
  t.is(m.strategy, 'fd')
  assertMerged(t, opts)
  await m.unmount()
})
