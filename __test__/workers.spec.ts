/**
 * The package in several Node environments of one process: two worker_threads and the main
 * thread load it at once and mount and unmount concurrently; workers are terminated in the
 * middle of their mount loops, and the process goes on mounting; and the binary is loaded
 * twice in one environment.
 */
import { readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Worker } from 'node:worker_threads'

import test from 'ava'

import { containerdStore } from '../src/example/store'
import type { Store } from '../src/example/store'
import { bind, platformTriple } from '../src/native'
import type { Addon } from '../src/native'
import { overlaysUnder, sandbox } from './helpers/sandbox'

const repo = resolve(__dirname, '..')
const binary = join(repo, 'native', `overlayfs.${platformTriple()}.node`)

/** The package as a user requires it (the built dist/), in this thread. */
const overlayfs = require(repo) as typeof import('../src')

/** Mount options of a store, as they cross to a worker. */
interface Job {
  lower: string[]
  upper: string
  work: string
  target: string
}

/** What a worker answers: the listings of its merged views, or its error. */
interface Answer {
  listings?: string[][]
  threads?: number
  error?: string
}

// The worker is plain CommonJS that requires the built package, as a user's worker would.
const WORKER = `
const { readdirSync } = require('node:fs')
const { parentPort, workerData } = require('node:worker_threads')
const overlayfs = require(workerData.repo)

async function cycle(job) {
  const m = await overlayfs.mount(job)
  const listed = readdirSync(job.target).sort()
  await m.unmount()
  return listed
}

async function rounds({ jobs, rounds }) {
  const listings = []
  for (let i = 0; i < rounds; i++) listings.push(...(await Promise.all(jobs.map(cycle))))
  return { listings, threads: require(workerData.native).mountThreads() }
}

if (workerData.mode === 'rounds') {
  rounds(workerData).then(
    (answer) => parentPort.postMessage(answer),
    (err) => parentPort.postMessage({ error: err.stack }),
  )
} else {
  // Mount and unmount each job in a loop that never ends, and say so once every job has
  // mounted once: the test terminates us while the mount threads work for us.
  let first = workerData.jobs.length
  const loop = async (job) => {
    for (;;) {
      const m = await overlayfs.mount(job)
      if (--first === 0) parentPort.postMessage({ started: true })
      await m.unmount()
    }
  }
  for (const job of workerData.jobs) loop(job).catch(() => {})
}
`

function job(store: Store): Job {
  const { lower, upper, work, target } = store
  return { lower, upper, work, target }
}

function stores(dir: string, name: string, count: number): Store[] {
  return Array.from({ length: count }, (_, i) => containerdStore(join(dir, `${name}-${i}`), 3))
}

/** Starts a worker on `data` and resolves with its first message. */
function runWorker(data: object): { worker: Worker; answer: Promise<Answer> } {
  const workerData = { repo, native: binary, ...data }
  const worker = new Worker(WORKER, { eval: true, workerData })
  const answer = new Promise<Answer>((settle, fail) => {
    worker.once('message', settle)
    worker.once('error', fail)
    worker.once('exit', (code) => fail(new Error(`worker exited with ${code} before answering`)))
  })
  return { worker, answer }
}

/** Mounts every store at once, `rounds` times, in this thread. */
async function mainRounds(jobs: Job[], rounds: number): Promise<string[][]> {
  const listings: string[][] = []
  for (let i = 0; i < rounds; i++) {
    const cycles = jobs.map(async (j) => {
      const m = await overlayfs.mount(j)
      const listed = readdirSync(j.target).sort()
      await m.unmount()
      return listed
    })
    listings.push(...(await Promise.all(cycles)))
  }
  return listings
}

test('two workers and the main thread mount and unmount at the same time', async (t) => {
  const dir = sandbox(t, 'workers')
  const rounds = 5
  const groups = ['a', 'b', 'main'].map((name) => stores(dir, name, 3))
  const markers = groups[0]![0]!.markers.slice().sort()

  const workers = groups
    .slice(0, 2)
    .map((g) => runWorker({ mode: 'rounds', rounds, jobs: g.map(job) }))
  const [a, b, main] = await Promise.all([
    workers[0]!.answer,
    workers[1]!.answer,
    mainRounds(groups[2]!.map(job), rounds),
  ])
  await Promise.all(workers.map(({ worker }) => worker.terminate()))

  for (const answer of [a, b]) {
    t.is(answer.error, undefined)
    t.is(answer.listings?.length, 3 * rounds)
    for (const listed of answer.listings ?? []) t.deepEqual(listed, markers)
    // One pool of mount threads for the process, whichever environment submits.
    t.true((answer.threads ?? 0) >= 1 && (answer.threads ?? 0) <= 4, `${answer.threads} threads`)
  }
  t.is(main.length, 3 * rounds)
  for (const listed of main) t.deepEqual(listed, markers)
  t.deepEqual(overlaysUnder(dir), [])
})

test('workers terminated with mounts in flight leave the process working', async (t) => {
  const dir = sandbox(t, 'workers')
  const terminations = 6
  for (let i = 0; i < terminations; i++) {
    const group = stores(dir, `gone-${i}`, 4)
    const { worker, answer } = runWorker({ mode: 'loop', jobs: group.map(job) })
    t.deepEqual(await answer, { started: true })
    await new Promise((settle) => setTimeout(settle, i * 5))
    await worker.terminate()

    // What the worker had asked for finishes on the mount threads after its environment is
    // gone; a mount it made stays in this namespace, and this thread can take it down.
    await new Promise((settle) => setTimeout(settle, 200))
    for (const store of group) {
      await overlayfs.unmount(store.target).catch((err: { code?: string }) => {
        if (err.code !== overlayfs.ErrorCodes.NOT_MOUNTED) throw err
      })
    }
  }

  const after = stores(dir, 'after', 2).map(job)
  const listings = await mainRounds(after, 3)
  t.is(listings.length, 6)
  t.deepEqual(overlaysUnder(dir), [])
})

test('the binary loads a second time in one environment, and both loads mount', async (t) => {
  const dir = sandbox(t, 'workers')
  const firstAddon = require(binary) as Addon
  delete require.cache[binary]
  const secondAddon = require(binary) as Addon
  t.not(firstAddon, secondAddon)
  t.not(firstAddon.Channel, secondAddon.Channel)
  const [first, second] = [bind(firstAddon), bind(secondAddon)]
  t.deepEqual(second.probeSync(), first.probeSync())

  const store = containerdStore(join(dir, 'twice'), 3)
  t.is(await second.mount(overlayfs.plan(job(store)).request), null)
  t.deepEqual(readdirSync(store.target).sort(), store.markers.slice().sort())
  t.is(await first.unmount(store.target, false), null)
  t.is(second.mountThreads(), first.mountThreads(), 'one pool of mount threads for both')
})
