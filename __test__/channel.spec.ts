/**
 * The channel that carries jobs to the mount threads and their results back: each result
 * reaches its own caller, a wave of results is settled a slice per turn of the event loop,
 * the process stays alive exactly while a job is in flight, and what the addon refuses at
 * the call leaves nothing in flight.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

import test from 'ava'

import { ErrorCodes, OverlayError, mount, plan, unmount } from '../src'
import type { Plan } from '../src'
import { Jobs } from '../src/channel'
import type { AddonChannel, NativeCompletion } from '../src/channel'
import type { NativeError } from '../src/native'
import { makeDirs } from './helpers/layers'
import { sandbox } from './helpers/sandbox'
import { busy, turnCounter } from './helpers/turns'

const repo = resolve(__dirname, '..')

test('a thousand jobs in flight at once each settle with their own result', async (t) => {
  const dir = sandbox(t, 'channel')
  // Even ones exist and are not mount points; odd ones do not exist.
  const paths = Array.from({ length: 1000 }, (_, i) => join(dir, `p${i}`))
  paths.forEach((p, i) => i % 2 === 0 && mkdirSync(p))
  const settled = await Promise.allSettled(paths.map((p) => unmount(p)))
  settled.forEach((s, i) => {
    if (s.status !== 'rejected') return t.fail(`unmount of ${paths[i]} did not fail`)
    const err = s.reason as OverlayError
    t.is(err.code, i % 2 === 0 ? ErrorCodes.NOT_MOUNTED : 'ENOENT', paths[i])
    t.true(err.message.includes(`'${paths[i]}'`), err.message)
  })
})

test('results that arrive together are settled a slice per turn, not all at once', async (t) => {
  const dir = sandbox(t, 'channel')
  const paths = Array.from({ length: 256 }, (_, i) => join(dir, `p${i}`))
  makeDirs(...paths)
  const turns = turnCounter()
  const perTurn = new Map<number, number>()
  // Each continuation holds the loop for 0.2 ms: all 256 in one turn would be 51 ms.
  const settled = () => {
    perTurn.set(turns.now(), (perTurn.get(turns.now()) ?? 0) + 1)
    busy(0.2)
  }
  await Promise.all(paths.map((p) => unmount(p).catch(settled)))
  turns.stop()
  const counts = [...perTurn.values()]
  t.is(
    counts.reduce((a, b) => a + b, 0),
    256,
  )
  t.true(Math.max(...counts) <= 16, `at most ${Math.max(...counts)} settled in one turn`)
})

test('the process stays alive while a job is in flight, and exits after it', (t) => {
  // A call the addon refuses comes first: it must leave nothing in flight, or the child
  // would never exit. Then a lookup, whose result the child only sees if the loop waits.
  const script = `
    const { native } = require(${JSON.stringify(join(repo, 'dist', 'native'))})
    native().mount({}).then(
      () => console.log('accepted'),
      (err) => console.log('refused:', err instanceof Error),
    )
    native().findMount('/').then((entry) => console.log('found:', entry && entry.mountPoint))
  `
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 })
  t.deepEqual(out.trim().split('\n').sort(), ['found: /', 'refused: true'])
})

test('a plan whose layer path or option holds a NUL byte is refused by the core', async (t) => {
  const dir = sandbox(t, 'channel')
  const [a, b, upper, work, target] = ['a', 'b', 'upper', 'work', 'target'].map((d) => join(dir, d))
  makeDirs(a, b, upper, work, target)
  const planned = plan({ lower: [a, b], upper, work, target })
  const forged = { ...planned, request: { ...planned.request, lower: [`${a}\0${b}`] } }
  const err = await t.throwsAsync(mount(forged), { instanceOf: OverlayError })
  t.is(err.code, ErrorCodes.INVALID_OPTIONS)
  t.regex(err.message, /1 lower layer paths expected, 2 found/)

  const option = { key: 'index', value: 'off\0metacopy=on' }
  const forgedOption = { ...planned, request: { ...planned.request, options: [option] } }
  const refused = await t.throwsAsync(mount(forgedOption), { instanceOf: OverlayError })
  t.is(refused.code, ErrorCodes.INVALID_OPTIONS)
  t.regex(refused.message, /1 options expected, 2 found/)

  const empty = { ...planned, request: { ...planned.request, lower: ['', b] } }
  const emptyRefused = await t.throwsAsync(mount(empty), { instanceOf: OverlayError })
  t.regex(emptyRefused.message, /one of the 2 lower layer paths is empty/)
  t.deepEqual(readdirSync(target), [])
})

test('a plan kept as JSON, with absent values written as null, mounts as it was', async (t) => {
  const dir = sandbox(t, 'channel')
  const [a, b, upper, work, target] = ['a', 'b', 'upper', 'work', 'target'].map((d) => join(dir, d))
  makeDirs(a, b, upper, work, target)
  writeFileSync(join(a, 'marker'), 'a')
  const planned = plan({ lower: [a, b], upper, work, target, options: ['userxattr'] })
  const kept = JSON.stringify(planned, (_, v: unknown) => (v === undefined ? null : v))
  const m = await mount(JSON.parse(kept) as Plan)
  t.deepEqual(readdirSync(target), ['marker'])
  await m.unmount()
})

test('a plan forged to name layers in its options is refused by the core', async (t) => {
  const dir = sandbox(t, 'channel')
  const [a, b, extra, upper, work, target] = ['a', 'b', 'extra', 'upper', 'work', 'target'].map(
    (d) => join(dir, d),
  )
  makeDirs(a, b, extra, upper, work, target)
  const planned = plan({ lower: [a, b], upper, work, target })
  for (const option of [
    { key: 'lowerdir+', value: extra },
    { key: 'upperdir', value: extra },
    { key: 'index', value: `off,lowerdir=${extra}` },
  ]) {
    const forged = { ...planned, request: { ...planned.request, options: [option] } }
    const err = await t.throwsAsync(mount(forged), { instanceOf: OverlayError })
    t.is(err.code, ErrorCodes.INVALID_OPTIONS, option.key)
    t.regex(err.message, /names layers|holds a ','/)
    t.deepEqual(readdirSync(target), [])
  }
})

test('results are drained a few dozen at a time until none is left', async (t) => {
  // A stand-in for the addon's channel: every job finishes at once, and one wake-up
  // announces them all, as when a thousand fast results pile up.
  const drains: number[] = []
  let ready: () => void = () => {}
  let queued: NativeCompletion[] = []
  class FakeChannel implements AddonChannel {
    constructor(wake: () => void) {
      ready = wake
    }
    mount(): void {}
    findMount(): void {}
    unmount(id: number): void {
      queued.push({ id, error: { code: 'ERR_OVERLAY_NOT_MOUNTED', message: `job ${id}` } })
    }
    drain(max: number): NativeCompletion[] {
      drains.push(max)
      const taken = queued.slice(0, max)
      queued = queued.slice(max)
      return taken
    }
  }
  const jobs = new Jobs(FakeChannel)
  const pending = Array.from({ length: 1000 }, () =>
    jobs.run<NativeError>('error', (c, id) => c.unmount(id, '/x', false)),
  )
  ready()
  const errors = await Promise.all(pending)
  t.deepEqual(
    errors.map((e) => e?.message),
    errors.map((_, i) => `job ${i}`),
  )
  t.true(
    drains.every((max) => max > 0 && max <= 64),
    `drained at most ${Math.max(...drains)} at once`,
  )
  t.true(drains.length > 1000 / 64, `${drains.length} drains`)
})
