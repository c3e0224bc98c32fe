/**
 * A mount failed at each step it can fail at, through every strategy: the options check, the
 * core's opening of the layers, its checks of them, the kernel's own refusal, and a layer
 * set changed between `plan()` and `mount()`. After each failure the overlay mounts that
 * touch the test's directory, this process's threads and its descriptors are as before,
 * and so is every entry of the directory; then the cause is fixed and a retry mounts.
 * Serial, after a warm-up, so that the thread and descriptor counts compare like with like.
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'
import type { ExecutionContext } from 'ava'

import { OverlayError, STRATEGIES, findMount, mount, plan } from '../src'
import type { MountOptions, Plan, Strategy } from '../src'
import { assertNothingLeft, counts, tmpfs, warmUp } from './helpers/leaks'
import { sandbox } from './helpers/sandbox'

interface Store {
  dir: string
  top: string
  bottom: string
  upper: string
  work: string
  target: string
  options: MountOptions
}

/** Two lower layers with a marker each, an upper, a work dir and a target. */
function store(dir: string, strategy: Strategy): Store {
  const [top, bottom, upper, work, target] = ['top', 'bottom', 'upper', 'work', 'merged'].map(
    (n) => join(dir, 'store', n),
  )
  for (const d of [top, bottom, upper, work, target]) mkdirSync(d, { recursive: true })
  writeFileSync(join(top, 'top-marker'), 'top')
  writeFileSync(join(bottom, 'bottom-marker'), 'bottom')
  const options = { lower: [top, bottom], upper, work, target, strategy }
  return { dir, top, bottom, upper, work, target, options }
}

interface Step {
  name: string
  /** Breaks the store and returns what to mount: options, or a plan made before the break. */
  breakIt: (s: Store, t: ExecutionContext) => MountOptions | Plan | Promise<MountOptions | Plan>
  /** The code the failure has. */
  code: string
  /** Undoes the break; the retry then mounts `s.options`. */
  fix: (s: Store) => void
}

const STEPS: Step[] = [
  {
    name: 'a lower layer that is a file (the core opens the layers)',
    breakIt: (s) => {
      rmSync(s.bottom, { recursive: true })
      writeFileSync(s.bottom, 'not a directory')
      return s.options
    },
    code: 'ENOTDIR',
    fix: (s) => {
      rmSync(s.bottom)
      mkdirSync(s.bottom)
      writeFileSync(join(s.bottom, 'bottom-marker'), 'bottom')
    },
  },
  {
    name: 'a missing work dir (the core opens the layers)',
    breakIt: (s) => {
      rmSync(s.work, { recursive: true })
      return s.options
    },
    code: 'ENOENT',
    fix: (s) => mkdirSync(s.work),
  },
  {
    name: 'a work dir on another filesystem (the core checks the open layers)',
    breakIt: (s, t) => {
      const work = join(tmpfs(t, join(s.dir, 'tmpfs')), 'work')
      mkdirSync(work)
      return { ...s.options, work }
    },
    code: 'ERR_OVERLAY_INVALID_OPTIONS',
    fix: () => {},
  },
  {
    name: 'an upper dir on an overlay (the kernel refuses it as upperdir)',
    breakIt: async (s) => {
      const inner = join(s.dir, 'inner')
      const [l1, upper, work, target] = ['l1', 'u', 'w', 'merged'].map((n) => join(inner, n))
      for (const d of [l1, upper, work, target]) mkdirSync(d, { recursive: true })
      await mount({ lower: [l1], upper, work, target, strategy: 'fd' })
      for (const d of ['upper', 'work']) mkdirSync(join(target, d))
      return { ...s.options, upper: join(target, 'upper'), work: join(target, 'work') }
    },
    code: 'EINVAL',
    fix: () => {},
  },
  {
    name: 'an upper dir on a read-only filesystem (the kernel refuses it)',
    breakIt: (s, t) => {
      const ro = tmpfs(t, join(s.dir, 'ro'))
      for (const d of ['upper', 'work']) mkdirSync(join(ro, d))
      execFileSync('mount', ['-o', 'remount,ro', ro])
      return { ...s.options, upper: join(ro, 'upper'), work: join(ro, 'work') }
    },
    code: 'EINVAL',
    fix: () => {},
  },
  {
    name: 'overlapping layers under another name (the kernel refuses them)',
    breakIt: (s) => {
      const nested = join(s.top, 'nested')
      mkdirSync(nested)
      symlinkSync(s.top, join(s.dir, 'alias'))
      return { ...s.options, lower: [s.top, join(s.dir, 'alias', 'nested')] }
    },
    code: 'ELOOP',
    fix: (s) => rmSync(join(s.top, 'nested'), { recursive: true }),
  },
  {
    name: 'a lower layer removed between plan() and mount()',
    breakIt: (s) => {
      const planned = plan(s.options)
      rmSync(s.bottom, { recursive: true })
      return planned
    },
    code: 'ENOENT',
    fix: (s) => {
      mkdirSync(s.bottom)
      writeFileSync(join(s.bottom, 'bottom-marker'), 'bottom')
    },
  },
  {
    name: 'the target removed between plan() and mount()',
    breakIt: (s) => {
      const planned = plan(s.options)
      rmSync(s.target, { recursive: true })
      return planned
    },
    code: 'ENOENT',
    fix: (s) => mkdirSync(s.target),
  },
  {
    name: 'the upper dir replaced by a symlink between plan() and mount()',
    breakIt: (s) => {
      const planned = plan(s.options)
      renameSync(s.upper, `${s.upper}.real`)
      symlinkSync(`${s.upper}.real`, s.upper)
      return planned
    },
    code: 'ERR_OVERLAY_SYMLINK',
    fix: (s) => {
      rmSync(s.upper)
      renameSync(`${s.upper}.real`, s.upper)
    },
  },
]

let warm = false

for (const strategy of STRATEGIES) {
  for (const step of STEPS) {
    const name = `${strategy}: ${step.name} leaves nothing behind, and a retry mounts`
    test.serial(name, async (t) => {
      const dir = sandbox(t, 'fail')
      if (!warm) {
        await warmUp(dir)
        warm = true
      }
      const s = store(dir, strategy)
      const what = await step.breakIt(s, t)
      const before = counts(dir)

      const err = await t.throwsAsync(mount(what), { instanceOf: OverlayError })
      t.is(err?.code, step.code, err?.message)

      assertNothingLeft(t, before, counts(dir), { threads: true })

      step.fix(s)
      const m = await mount(s.options)
      t.is(m.strategy, strategy)
      t.is(readFileSync(join(s.target, 'top-marker'), 'utf8'), 'top')
      t.is(readFileSync(join(s.target, 'bottom-marker'), 'utf8'), 'bottom')
      t.is((await findMount(s.target))?.fstype, 'overlay')
      await m.unmount()
      t.is(await findMount(s.target), null)
    })
  }
}
