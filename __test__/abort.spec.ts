/**
 * `AbortSignal` on `mount`. Aborted before the call: it rejects with an `AbortError` and
 * does nothing at all, not even checking the options. Aborted after the call has started
 * (right after calling, before awaiting): it rejects with an `AbortError` whose `mounted`
 * says whether the overlay exists, and mountinfo agrees. A mount whose undo after the abort
 * fails (`mounted: true`) cannot be brought about from here, since a detaching unmount by
 * root of a mount just made does not fail; that branch is not exercised.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { AbortError, OverlayError, STRATEGIES, findMount, mount } from '../src'
import type { MountOptions, Strategy } from '../src'
import { counts, newFds, warmUp } from './helpers/leaks'
import { sandbox } from './helpers/sandbox'

function store(dir: string, strategy?: Strategy): MountOptions {
  const [top, bottom, upper, work, target] = ['top', 'bottom', 'upper', 'work', 'merged'].map(
    (n) => join(dir, n),
  )
  for (const d of [top, bottom, upper, work, target]) mkdirSync(d)
  writeFileSync(join(top, 'marker'), 'top')
  return { lower: [top, bottom], upper, work, target, strategy }
}

/** Checks that `err` is the AbortError an abort owes, for an overlay that does not exist. */
function isAbortError(t: import('ava').ExecutionContext, err: unknown): err is AbortError {
  t.true(err instanceof AbortError)
  t.true(err instanceof Error)
  const e = err as AbortError
  t.is(e.name, 'AbortError')
  t.is(e.code, 'ABORT_ERR')
  t.is(e.mounted, false)
  t.regex(e.message, /mount aborted: nothing is mounted/)
  return true
}

let warm = false

async function warmOnce(dir: string): Promise<void> {
  if (!warm) await warmUp(dir)
  warm = true
}

test.serial('aborted before the call: AbortError, and nothing is done', async (t) => {
  const dir = sandbox(t, 'abort')
  await warmOnce(dir)
  const options = store(dir)
  const controller = new AbortController()
  const reason = new Error('the user went away')
  controller.abort(reason)
  const before = counts(dir)

  const err = await t.throwsAsync(mount(options, { signal: controller.signal }))
  isAbortError(t, err)
  t.is((err as Error & { cause?: unknown }).cause, reason)

  const after = counts(dir)
  t.is(await findMount(options.target), null)
  t.is(after.overlays, before.overlays)
  t.deepEqual(after.entries, before.entries, 'not even the work dir was touched')
  t.deepEqual(newFds(before, after), [])
})

test.serial('aborted before the call, options are not even checked', async (t) => {
  const controller = new AbortController()
  controller.abort()
  const signal = controller.signal
  const err = await t.throwsAsync(mount({ lower: [], target: 'relative' }, { signal }))
  isAbortError(t, err)
})

for (const strategy of [...STRATEGIES, undefined]) {
  const name = strategy ?? 'auto'
  test.serial(`${name}: aborted after the call started, the overlay does not stay`, async (t) => {
    const dir = sandbox(t, 'abort')
    await warmOnce(dir)
    const options = store(dir, strategy)
    const controller = new AbortController()
    const before = counts(dir)

    const pending = mount(options, { signal: controller.signal })
    controller.abort()
    const err = await t.throwsAsync(pending)
    isAbortError(t, err)
    t.true((err as Error & { cause?: unknown }).cause instanceof DOMException, 'the reason')

    // `mounted: false` is the truth: mountinfo shows nothing at the target. The mount did
    // happen first (the kernel made its work/ inside the work dir) and was undone.
    t.is(await findMount(options.target), null)
    t.true(readdirSync(options.work!).includes('work'), 'mounted, then unmounted')
    t.deepEqual(readdirSync(options.target), [])
    const after = counts(dir)
    t.is(after.overlays, before.overlays)
    t.is(after.mounts, before.mounts)
    t.deepEqual(newFds(before, after), [])
  })

  test.serial(`${name}: aborted after the call started, a failing mount`, async (t) => {
    const dir = sandbox(t, 'abort')
    await warmOnce(dir)
    const options = { ...store(dir, strategy), work: join(dir, 'missing-work') }
    const controller = new AbortController()

    const pending = mount(options, { signal: controller.signal })
    controller.abort()
    const err = await t.throwsAsync(pending)
    isAbortError(t, err)
    const cause = (err as Error & { cause?: unknown }).cause as OverlayError
    t.true(cause instanceof OverlayError, 'the mount error is the cause')
    t.is(cause.code, 'ENOENT')
    t.is(await findMount(options.target), null)
  })
}

test.serial('a signal that is never aborted, and one aborted after the mount', async (t) => {
  const dir = sandbox(t, 'abort')
  const options = store(dir)
  const controller = new AbortController()
  const m = await mount(options, { signal: controller.signal })
  controller.abort()
  t.is((await findMount(options.target))?.fstype, 'overlay', 'an abort afterwards undoes nothing')
  t.deepEqual(readdirSync(options.target), ['marker'])
  await m.unmount()
  t.is(await findMount(options.target), null)
})
