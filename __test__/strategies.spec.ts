/**
 * Every strategy, forced on its own, on the same layer sets: the merged view is the same,
 * the top-most layer wins, directories merge, and writes land in the upper layer only.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, unlinkSync } from 'node:fs'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { STRATEGIES, mount, plan } from '../src'
import { containerdStore } from '../src/example/store'
import type { Store } from '../src/example/store'
import { sandbox } from './helpers/sandbox'
import { diffTrees, expectedUnion, walk } from './helpers/tree'

/**
 * A containerd-like store whose layers overlap: each holds `shared` and `etc/shared` with
 * its own index, its own `etc/only-<i>`, and the even ones `etc/sub/even-<i>`.
 */
function overlappingStore(dir: string, count: number): Store {
  const store = containerdStore(dir, count)
  store.lower.forEach((layer, i) => {
    mkdirSync(join(layer, 'etc', 'sub'), { recursive: true })
    writeFileSync(join(layer, 'shared'), `shared from ${i}\n`)
    writeFileSync(join(layer, 'etc', 'shared'), `etc/shared from ${i}\n`)
    writeFileSync(join(layer, 'etc', `only-${i}`), `${i}\n`)
    if (i % 2 === 0) writeFileSync(join(layer, 'etc', 'sub', `even-${i}`), `${i}\n`)
  })
  return store
}

/** The merged view: relative paths with their kinds or contents, the store's root elided. */
function snapshot(store: Store): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [rel, entry] of walk(store.target)) {
    const text = entry.kind === 'file' ? readFileSync(entry.path, 'utf8') : entry.kind
    out[rel] = text.replaceAll(store.root, '<root>')
  }
  return out
}

for (const count of [3, 40]) {
  const views = new Map<string, Record<string, string>>()

  for (const strategy of STRATEGIES) {
    test.serial(`${strategy} alone mounts ${count} overlapping layers`, async (t) => {
      const store = overlappingStore(sandbox(t), count)
      const m = await mount({ ...store, strategy })
      t.is(m.strategy, strategy)
      t.is(m.layers, count)

      t.deepEqual(diffTrees(expectedUnion(store.lower), walk(store.target)), {
        missing: [],
        extra: [],
        kind: [],
        content: [],
      })
      t.is(readFileSync(join(store.target, 'shared'), 'utf8'), 'shared from 0\n')
      t.is(readFileSync(join(store.target, 'etc', 'shared'), 'utf8'), 'etc/shared from 0\n')
      const only = Array.from({ length: count }, (_, i) => `only-${i}`)
      t.deepEqual(readdirSync(join(store.target, 'etc')).sort(), [...only, 'shared', 'sub'].sort())
      const even = only.map((_, i) => `even-${i}`).filter((_, i) => i % 2 === 0)
      t.deepEqual(readdirSync(join(store.target, 'etc', 'sub')).sort(), even.sort())
      views.set(strategy, snapshot(store))

      // A new file, a copy-up and a whiteout: all in upper, no lower layer touched.
      writeFileSync(join(store.target, 'new'), strategy)
      writeFileSync(join(store.target, 'shared'), `changed by ${strategy}\n`)
      unlinkSync(join(store.target, store.markers[count - 1]))
      t.is(readFileSync(join(store.upper, 'new'), 'utf8'), strategy)
      t.is(readFileSync(join(store.upper, 'shared'), 'utf8'), `changed by ${strategy}\n`)
      const whiteout = lstatSync(join(store.upper, store.markers[count - 1]))
      t.true(whiteout.isCharacterDevice() && whiteout.rdev === 0, 'a whiteout is a 0/0 device')
      t.is(readFileSync(join(store.lower[0], 'shared'), 'utf8'), 'shared from 0\n')
      t.true(readdirSync(store.lower[count - 1]).includes(store.markers[count - 1]))
      t.false(readdirSync(store.target).includes(store.markers[count - 1]))
      t.deepEqual(readdirSync(store.upper).sort(), [store.markers[count - 1], 'new', 'shared'])
      await m.unmount()
    })
  }

  test.serial(`all strategies show the same view of ${count} layers`, (t) => {
    t.is(views.size, STRATEGIES.length)
    const [first, ...rest] = [...views.values()]
    t.true(Object.keys(first).length > count * 2)
    for (const view of rest) t.deepEqual(view, first)
  })
}

test('auto picks fd on this kernel, and the mount says so', async (t) => {
  const store = overlappingStore(sandbox(t), 3)
  const planned = plan(store)
  t.is(planned.strategy, 'fd')
  t.deepEqual(planned.rejected, [])
  t.is(planned.cwd, null)
  t.is(planned.dataBytes, 0)
  const m = await mount(store)
  t.is(m.strategy, 'fd')
  t.is(m.plan.strategy, 'fd')
  t.is(m.dataBytes, 0)
  await m.unmount()
})
