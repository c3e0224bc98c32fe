/**
 * The kernel's layer limit with paths near PATH_MAX: 500 layers whose absolute paths are
 * each about 3000 bytes. No joined string and no one value can carry them; descriptors can.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { ErrorCodes, OverlayError, STRATEGIES, findMount, isMounted, mount } from '../src'
import { probeSync } from '../src'
import type { MountOptions } from '../src'
import { sandbox } from './helpers/sandbox'

const PATH_BYTES = 3000
const MAX_LAYERS = probeSync().maxLowerLayers

/**
 * `count` layers `<dir>/deep/<i>/<200-byte dirs>.../<leaf>`, each exactly PATH_BYTES long
 * and with its own chain of directories, so that their common directory is `<dir>/deep`.
 * With `create` false only the paths are made up, and the upper, work and target dirs.
 */
function deepStore(dir: string, count: number, create = true): MountOptions & { upper: string } {
  const lower = Array.from({ length: count }, (_, i) => {
    let path = join(dir, 'deep', String(i))
    while (PATH_BYTES - path.length > 250) path = join(path, `${i}-`.padEnd(200, 'd'))
    return join(path, `leaf-${i}-`.padEnd(PATH_BYTES - path.length - 1, 'l'))
  })
  lower.forEach((layer, i) => {
    if (!create) return
    mkdirSync(layer, { recursive: true })
    writeFileSync(join(layer, `marker-${i}`), `${i}\n`)
  })
  const [upper, work, target] = ['upper', 'work', 'merged'].map((n) => join(dir, n))
  for (const d of [upper, work, target]) mkdirSync(d)
  return { lower, upper, work, target }
}

/** Every layer's marker is visible, with that layer's content. */
function assertAllMarkers(t: import('ava').ExecutionContext, opts: MountOptions): void {
  const names = readdirSync(opts.target)
  t.is(names.length, opts.lower.length)
  const wrong = opts.lower
    .map((_, i) => i)
    .filter((i) => readFileSync(join(opts.target, `marker-${i}`), 'utf8') !== `${i}\n`)
  t.deepEqual(wrong, [])
}

test('the deep store has 500 paths of 3000 bytes, each under PATH_MAX', (t) => {
  t.is(MAX_LAYERS, 500)
  const dir = sandbox(t)
  const opts = deepStore(dir, MAX_LAYERS, false)
  t.is(opts.lower.length, 500)
  t.true(opts.lower.every((p) => Buffer.byteLength(p) === PATH_BYTES))
  t.true(opts.lower.every((p) => p.split('/').every((c) => c.length <= 255)))
})

for (const strategy of ['fd', 'procfd'] as const) {
  test.serial(`forced ${strategy} mounts 500 layers of 3000-byte paths`, async (t) => {
    const opts = deepStore(sandbox(t), MAX_LAYERS)
    const m = await mount({ ...opts, strategy })
    t.is(m.strategy, strategy)
    t.is(m.layers, 500)
    assertAllMarkers(t, opts)

    const entry = await findMount(opts.target)
    t.is(entry?.lowerdirs.length, 500)
    // fd layers are listed by their full path: a mountinfo line of 1.5 MB, parsed whole.
    if (strategy === 'fd') t.deepEqual(entry?.lowerdirs, opts.lower)
    writeFileSync(join(opts.target, 'written'), strategy)
    t.is(readFileSync(join(opts.upper, 'written'), 'utf8'), strategy)
    await m.unmount()
    t.false(await isMounted(opts.target))
  })
}

test.serial('auto mounts 500 layers of 3000-byte paths by fd', async (t) => {
  const opts = deepStore(sandbox(t), MAX_LAYERS)
  const m = await mount(opts)
  t.is(m.strategy, 'fd')
  assertAllMarkers(t, opts)
  await m.unmount()
})

// The refusals below come before any syscall: the layers do not even exist, so a syscall
// would have failed with ENOENT instead.
test.serial('strategies that need strings refuse 500 layers of 3000-byte paths', async (t) => {
  const dir = sandbox(t)
  const opts = deepStore(dir, MAX_LAYERS, false)
  const relative = opts.lower[0].slice(join(dir, 'deep').length + 1)
  const lowerdirPlus = (await t.throwsAsync(mount({ ...opts, strategy: 'lowerdir+' }), {
    instanceOf: OverlayError,
    code: ErrorCodes.VALUE_TOO_LONG,
  })) as OverlayError
  t.is(lowerdirPlus.bytes, relative.length)
  for (const strategy of ['absolute', 'relative'] as const) {
    const err = (await t.throwsAsync(mount({ ...opts, strategy }), {
      instanceOf: OverlayError,
      code: ErrorCodes.DATA_TOO_LONG,
    })) as OverlayError
    t.is(err.pageSize, probeSync().pageSize)
    t.true((err.bytes ?? 0) > 500 * relative.length)
  }
  t.false(await isMounted(opts.target))
})

test.serial('501 layers of 3000-byte paths: ERR_OVERLAY_TOO_MANY_LAYERS', async (t) => {
  const opts = deepStore(sandbox(t), MAX_LAYERS + 1, false)
  for (const strategy of ['auto', ...STRATEGIES] as const) {
    const err = (await t.throwsAsync(mount({ ...opts, strategy }), {
      instanceOf: OverlayError,
      code: ErrorCodes.TOO_MANY_LAYERS,
      message: `501 lower layers requested, more than the kernel's limit of 500`,
    })) as OverlayError
    t.is(err.limit, 500)
    t.is(err.count, 501)
    t.is(err.syscall, undefined)
  }
  t.false(await isMounted(opts.target))
  t.deepEqual(readdirSync(opts.target), [])
})
