/**
 * Descriptors: every strategy opens each layer, and the new mount API opens a context and a
 * mount besides. After many mounts and unmounts, failed ones included, none may stay open.
 */
import { mkdirSync, rmdirSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { STRATEGIES, findMount, mount } from '../src'
import type { Strategy } from '../src'
import { containerdStore } from '../src/example/store'
import type { Store } from '../src/example/store'
import { openFds, sandbox } from './helpers/sandbox'

const ROUNDS = 1000
/** Mounts in flight at once, on distinct stores, so that every mount thread takes part. */
const IN_FLIGHT = 8

async function cycle(store: Store, strategy: Strategy): Promise<void> {
  const m = await mount({ ...store, strategy })
  if ((await findMount(store.target))?.mountPoint !== store.target) throw new Error('not found')
  await m.unmount()
}

test.serial('1000 mounts and unmounts leave no descriptor open', async (t) => {
  const dir = sandbox(t)
  const stores = Array.from({ length: IN_FLIGHT }, (_, i) =>
    containerdStore(join(dir, `s${i}`), 3),
  )
  // Failures after the layers were opened: a missing work dir, and one the kernel refuses
  // (inside the upper dir) after an fs context was made.
  const broken = containerdStore(join(dir, 'broken'), 3)
  rmdirSync(broken.work)
  const refused = containerdStore(join(dir, 'refused'), 3)
  mkdirSync(join(refused.upper, 'work'))
  refused.work = join(refused.upper, 'work')

  // Warm up: load the addon, start the mount threads, probe the kernel.
  for (const strategy of STRATEGIES) await Promise.all(stores.map((s) => cycle(s, strategy)))
  const before = openFds()

  let done = 0
  let failed = 0
  for (let round = 0; round < ROUNDS / IN_FLIGHT; round++) {
    const strategy = STRATEGIES[round % STRATEGIES.length]
    await Promise.all(stores.map((s) => cycle(s, strategy)))
    done += stores.length
    for (const store of [broken, refused]) {
      await mount({ ...store, strategy }).catch(() => failed++)
    }
  }
  const after = openFds()

  t.is(done, ROUNDS)
  t.is(failed, (2 * ROUNDS) / IN_FLIGHT)
  t.log(`${after} descriptors open after, ${before} before`)
  t.true(after <= before, `${after} descriptors open, ${before} before`)
})
