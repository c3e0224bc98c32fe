/**
 * A layer path swapped for a symlink between `plan()` and `mount()`, and while `mount()`
 * runs.
 *
 * Between `plan()` and `mount()`: the core opens every layer and the target itself, with
 * `O_NOFOLLOW`, when the mount runs, so a path that is a symlink by then is refused with
 * `ERR_OVERLAY_SYMLINK` naming the role and the path, whatever the strategy.
 *
 * While `mount()` runs, after the core has opened and checked a directory, what each
 * strategy guarantees:
 *
 * - `fd`: every layer (lower, data-only, upper, work) is handed to the kernel as the
 *   descriptor that was opened and checked, and the overlay is attached to the opened
 *   target: the directories mounted are the ones checked, whatever the paths name later.
 * - `procfd`: the lower and data-only layers are named `/proc/self/fd/<n>`, which the
 *   kernel resolves to the opened directories, and so is the target; upper and work go
 *   by absolute path (so that mountinfo names them and a second overlay on them can be
 *   refused), which the kernel resolves again, following a symlink swapped in.
 * - `lowerdir+`, `absolute` and `relative`: the target is the opened one (`move_mount`
 *   onto its descriptor, or `/proc/self/fd/<n>`), and `relative` resolves from the opened
 *   common directory; but every layer is handed to the kernel as a path that it resolves
 *   again after the package's check, so a swap in that window is followed.
 *
 * The race tests below run a swapper thread against repeated mounts and assert the
 * guarantee where there is one; for the path strategies they only count what they saw.
 */
import { mkdirSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'

import test from 'ava'

import { ErrorCodes, OverlayError, STRATEGIES, findMount, mount, plan } from '../src'
import type { MountOptions, Strategy } from '../src'
import { sandbox } from './helpers/sandbox'

type Role = 'lower' | 'upper' | 'work' | 'target'

interface Store {
  options: MountOptions
  /** The directory each role names, and a look-alike elsewhere with its own marker. */
  paths: Record<Role, string>
  evil: Record<Role, string>
}

function store(dir: string, strategy: Strategy): Store {
  const at = (...p: string[]) => {
    const path = join(dir, ...p)
    mkdirSync(path, { recursive: true })
    return path
  }
  const paths = {
    lower: at('layers', 'top'),
    upper: at('upper'),
    work: at('work'),
    target: at('merged'),
  }
  const evil = {
    lower: at('evil', 'top'),
    upper: at('evil', 'upper'),
    work: at('evil', 'work'),
    target: at('evil', 'merged'),
  }
  const bottom = at('layers', 'bottom')
  writeFileSync(join(paths.lower, 'real-marker'), 'real')
  writeFileSync(join(evil.lower, 'evil-marker'), 'evil')
  writeFileSync(join(bottom, 'bottom-marker'), 'bottom')
  const { upper, work, target } = paths
  const options = { lower: [paths.lower, bottom], upper, work, target, strategy }
  return { options, paths, evil }
}

const CORE_NAMES: Record<Role, string> = {
  lower: 'lowerdir 0',
  upper: 'upperdir',
  work: 'workdir',
  target: 'target',
}

for (const strategy of STRATEGIES) {
  for (const role of ['lower', 'upper', 'work', 'target'] as const) {
    test(`${strategy}: a ${role} swapped for a symlink after plan() is refused`, async (t) => {
      const s = store(sandbox(t, 'swap'), strategy)
      const planned = plan(s.options)
      renameSync(s.paths[role], `${s.paths[role]}.moved`)
      symlinkSync(s.evil[role], s.paths[role])

      const err = await t.throwsAsync(mount(planned), { instanceOf: OverlayError })
      t.is(err?.code, ErrorCodes.SYMLINK, err?.message)
      t.is(err?.syscall, 'open')
      t.true(err?.message.includes(`${CORE_NAMES[role]} '`), err?.message)
      t.true(err?.message.includes(`is a symlink, which is never followed`), err?.message)
      t.is(await findMount(s.paths.target), null)
      t.is(await findMount(s.evil.target), null)
      t.deepEqual(readdirSync(s.evil.upper), [], 'nothing was written to the look-alike')
    })
  }
}

/** A thread that keeps swapping `path` between its directory and a symlink to `evil`. */
function swapper(path: string, evil: string): { stop: () => Promise<number> } {
  const flag = new Int32Array(new SharedArrayBuffer(4))
  const code = `
    const { renameSync, symlinkSync, unlinkSync } = require('node:fs')
    const { workerData, parentPort } = require('node:worker_threads')
    const { path, evil, flag } = workerData
    let swaps = 0
    while (Atomics.load(flag, 0) === 0) {
      renameSync(path, path + '.real')
      symlinkSync(evil, path)
      unlinkSync(path)
      renameSync(path + '.real', path)
      swaps++
    }
    parentPort.postMessage(swaps)
  `
  const worker = new Worker(code, { eval: true, workerData: { path, evil, flag } })
  const done = new Promise<number>((resolve, reject) => {
    worker.once('message', resolve)
    worker.once('error', reject)
  })
  return {
    stop: async () => {
      Atomics.store(flag, 0, 1)
      return done
    },
  }
}

/** What each attempt under a swapper saw. */
interface Outcomes {
  refused: Record<string, number>
  real: number
  evil: number
  swaps: number
}

const ATTEMPTS = 150

async function race(dir: string, strategy: Strategy, role: 'lower' | 'upper'): Promise<Outcomes> {
  const s = store(dir, strategy)
  const planned = plan(s.options)
  const out: Outcomes = { refused: {}, real: 0, evil: 0, swaps: 0 }
  const swap = swapper(s.paths[role], s.evil[role])
  try {
    for (let i = 0; i < ATTEMPTS; i++) {
      let m
      try {
        m = await mount(planned)
      } catch (err) {
        const code = (err as OverlayError).code
        out.refused[code] = (out.refused[code] ?? 0) + 1
        continue
      }
      // A lower shows in the merged view; an upper is where a write lands.
      const probe = `probe-${i}`
      if (role === 'upper') writeFileSync(join(s.paths.target, probe), 'x')
      const evil =
        role === 'lower'
          ? readdirSync(s.paths.target).includes('evil-marker')
          : readdirSync(s.evil.upper).includes(probe)
      if (evil) out.evil++
      else out.real++
      await m.unmount()
    }
  } finally {
    out.swaps = await swap.stop()
  }
  return out
}

for (const strategy of STRATEGIES) {
  for (const role of ['lower', 'upper'] as const) {
    const pinned = strategy === 'fd' || (strategy === 'procfd' && role === 'lower')
    const claim = pinned ? 'always mounts the opened' : 'may follow a swap of the'
    test.serial(`${strategy} ${claim} ${role} while a swapper runs`, async (t) => {
      const out = await race(sandbox(t, 'race'), strategy, role)
      t.log(JSON.stringify(out))
      t.true(out.swaps > 0, 'the swapper ran')
      // Caught mid-swap: gone (ENOENT), a symlink, or a symlink when opened that is a
      // directory again when the core looks why the open failed (ENOTDIR).
      const expected = ['ENOENT', 'ENOTDIR', ErrorCodes.SYMLINK]
      for (const code of Object.keys(out.refused)) t.true(expected.includes(code), code)
      if (pinned) t.is(out.evil, 0, 'never the directory swapped in')
      t.is(out.real + out.evil + Object.values(out.refused).reduce((a, b) => a + b, 0), ATTEMPTS)
    })
  }
}
