/**
 * C08: the process's working directory under concurrent mounts. Mount threads enter the
 * layers' common directory (or /proc/self/fd) on a private fs state; the process, and
 * libuv's pool that runs node:fs, must never see that. No mount needs a pool thread.
 *
 * The tests are serial: they change the process's cwd and block libuv's pool.
 */
import { execFileSync } from 'node:child_process'
import {
  closeSync,
  constants,
  promises as fsp,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
  writeSync,
} from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { STRATEGIES, findMount, mount, plan } from '../src'
import type { MountOptions, Mounted, Strategy } from '../src'
import { containerdStore } from '../src/example/store'
import type { Store } from '../src/example/store'
import { sandbox } from './helpers/sandbox'

const PROBE = 'probe.txt'

/** A promise that settles after `ms` with `value`. */
function after<T>(ms: number, value: T): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms))
}

/** A store whose only lower is over 255 bytes, so that `lowerdir+` mounts from a cwd. */
function longStore(root: string): Store {
  const leaf = join(root, 'deep', 'd'.repeat(200), 'l'.repeat(100))
  const store = containerdStore(root, 1)
  mkdirSync(leaf, { recursive: true })
  writeFileSync(join(leaf, store.markers[0]), `${leaf}\n`)
  return { ...store, lower: [leaf] }
}

test.serial('64 concurrent mounts never move the cwd that node:fs reads from', async (t) => {
  const dir = sandbox(t)
  const home = join(dir, 'home')
  mkdirSync(home)
  writeFileSync(join(home, PROBE), 'home\n')
  const before = process.cwd()
  process.chdir(home)
  t.teardown(() => process.chdir(before))

  // Stores for strategies that enter a directory on the mount thread, and the others.
  const order: Strategy[] = ['relative', 'lowerdir+', 'procfd', 'fd', 'absolute']
  const jobs = Array.from({ length: 64 }, (_, i) => {
    const strategy = order[i % order.length]
    const root = join(dir, `s${i}`)
    const store = strategy === 'lowerdir+' ? longStore(root) : containerdStore(root, 3)
    const opts: MountOptions = { ...store, strategy }
    // A decoy where the mount thread's cwd will be: reading it would mean a leaked cwd.
    const cwd = plan(opts).cwd
    if (strategy === 'relative' || strategy === 'lowerdir+') t.truthy(cwd, strategy)
    if (cwd) writeFileSync(join(cwd, PROBE), `decoy ${cwd}\n`)
    return { strategy, opts }
  })

  const reads: string[] = []
  const cwds = new Set<string>()
  let done = false
  const reader = async () => {
    while (!done) {
      reads.push(await fsp.readFile(PROBE, 'utf8'))
      cwds.add(process.cwd())
    }
  }
  const ticker = setInterval(() => cwds.add(process.cwd()), 1)
  const readers = Array.from({ length: 8 }, reader)

  let mounted: Mounted[] = []
  try {
    // Besides the readers, each mount once in place issues a relative read of its own while
    // the later mounts are still in flight, so reads and mounts overlap on any machine.
    mounted = await Promise.all(
      jobs.map(async (j) => {
        const m = await mount(j.opts)
        reads.push(await fsp.readFile(PROBE, 'utf8'))
        return m
      }),
    )
    await Promise.all(mounted.map((m) => m.unmount()))
  } finally {
    done = true
    clearInterval(ticker)
    await Promise.all(readers)
  }

  t.is(mounted.length, 64)
  mounted.forEach((m, i) => t.is(m.strategy, jobs[i].strategy))
  t.true(reads.length >= 64 + 8)
  t.deepEqual([...new Set(reads)], ['home\n'])
  t.deepEqual([...cwds], [home])
  t.is(process.cwd(), home)
})

test.serial('mounts and unmounts complete while every libuv pool thread is blocked', async (t) => {
  const dir = sandbox(t)
  const fifo = join(dir, 'fifo')
  execFileSync('mkfifo', [fifo])
  const poolSize = Number(process.env.UV_THREADPOOL_SIZE) || 4

  // Each read blocks its pool thread in open(2) until a writer opens the FIFO.
  const blockers = Array.from({ length: poolSize }, () => fsp.readFile(fifo, 'utf8'))
  const release = () => {
    const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)
    writeSync(fd, 'go')
    closeSync(fd)
  }
  const queued = fsp.stat(dir).then(() => 'ran')
  try {
    t.is(await Promise.race([queued, after(300, 'blocked')]), 'blocked', 'the pool is full')

    for (const strategy of STRATEGIES) {
      const store = containerdStore(join(dir, strategy), 3)
      const m = await Promise.race([mount({ ...store, strategy }), after(10_000, null)])
      if (m === null) return t.fail(`mount by ${strategy} waited for a libuv pool thread`)
      t.is(m.strategy, strategy)
      t.deepEqual(readdirSync(store.target).sort(), [...store.markers].sort())
      t.is((await findMount(store.target))?.mountPoint, store.target)
      await m.unmount()
      t.is(await findMount(store.target), null)
    }
    t.is(await Promise.race([queued, after(0, 'blocked')]), 'blocked', 'still full')
  } finally {
    release()
  }
  // One reader gets the two bytes written, the others end of file.
  const got = await Promise.all(blockers)
  t.is(got.length, poolSize)
  t.is(got.join(''), 'go')
  t.is(await queued, 'ran')
})

test.serial('the event loop keeps turning during a mount of 500 layers', async (t) => {
  const store = containerdStore(sandbox(t), 500)
  let ticks = 0
  const interval = setInterval(() => ticks++, 1)
  // Each turn of the loop records when it ran: a mount on the main thread would show as
  // one gap as long as the mount itself.
  const turns: number[] = []
  let turning = true
  const turn = () => {
    turns.push(performance.now())
    if (turning) setImmediate(turn)
  }
  setImmediate(turn)

  const started = performance.now()
  const m = await mount(store)
  const ms = performance.now() - started
  const [ticksDuring, during] = [ticks, turns.filter((at) => at >= started)]
  turning = false
  clearInterval(interval)
  const gaps = during.slice(1).map((at, i) => at - during[i])
  const longest = Math.max(during[0] - started, ...gaps)

  t.log(
    `mount ${ms.toFixed(1)} ms, ${ticksDuring} ticks, ${during.length} turns, ` +
      `longest gap ${longest.toFixed(1)} ms`,
  )
  t.is(m.layers, 500)
  t.true(ms > 10, 'the mount takes long enough to tell the threads apart')
  t.true(during.length >= 3, 'the loop turned while the mount ran')
  t.true(ticksDuring > 0, 'a 1 ms interval fired during the mount')
  t.true(longest < ms / 2, 'the main thread was never blocked for the mount')
  t.is(readdirSync(store.target).length, 500)

  // The work was done by the package's own threads, which exist beside the main thread.
  const names = readdirSync('/proc/self/task').map((tid) =>
    readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim(),
  )
  t.true(
    names.some((n) => n.startsWith('overlayfs-mount')),
    names.join(', '),
  )
  await m.unmount()
})
