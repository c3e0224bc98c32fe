/**
 * C05: a colon in a directory name. `:` separates layers in legacy `lowerdir=`, so a layer
 * named `:apache2` under a storage root `test:1` must reach the kernel as one layer: escaped
 * in mount data, literal through the new mount API.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { STRATEGIES, findMount, mount } from '../src'
import type { Strategy } from '../src'
import { overlaysAt } from './helpers/mountinfo-raw'
import { sandbox } from './helpers/sandbox'

interface ColonStore {
  root: string
  layersDir: string
  lower: string[]
  upper: string
  work: string
  target: string
}

/** A store under `<dir>/test:1` whose lower layers are named `names`, each with one file. */
function colonStore(dir: string, names: string[]): ColonStore {
  const root = join(dir, 'test:1')
  const layersDir = join(root, 'layers')
  const lower = names.map((name) => join(layersDir, name))
  lower.forEach((layer, i) => {
    mkdirSync(join(layer, 'conf'), { recursive: true })
    writeFileSync(join(layer, `file-${i}`), `${layer}\n`)
    writeFileSync(join(layer, 'conf', 'ports.conf'), `Listen ${8000 + i}\n`)
  })
  // Decoys: what a layer split at its colons would name. None may show in a merged view.
  for (const decoy of ['', 'apache2', 'test', '1']) {
    mkdirSync(join(dir, decoy, 'decoy'), { recursive: true })
  }
  mkdirSync(join(layersDir, 'apache2', 'decoy'), { recursive: true })
  const [upper, work, target] = ['upper', 'work', 'merged'].map((n) => join(root, n))
  for (const d of [upper, work, target]) mkdirSync(d, { recursive: true })
  return { root, layersDir, lower, upper, work, target }
}

/** `path` escaped as one entry of a legacy `lowerdir=` list. */
function escaped(path: string): string {
  return path.replace(/:/g, '\\:')
}

for (const strategy of STRATEGIES) {
  test(`${strategy}: ':apache2' under 'test:1' mounts as one layer`, async (t) => {
    const store = colonStore(sandbox(t), [':apache2'])
    const m = await mount({ ...store, strategy })

    t.is(m.strategy, strategy)
    t.is(m.layers, 1)
    const expectedPlanned = strategy === 'relative' ? [':apache2'] : store.lower
    t.deepEqual(m.plan.lower, expectedPlanned)
    if (strategy === 'absolute') {
      const upper = `upperdir=${store.upper},workdir=${store.work}`
      t.is(m.plan.data, `lowerdir=${escaped(store.lower[0])},${upper}`)
    }
    if (strategy === 'relative') {
      t.is(m.plan.cwd, store.layersDir)
      t.true(m.plan.data?.startsWith('lowerdir=\\:apache2,upperdir='))
    }

    t.deepEqual(readdirSync(store.target).sort(), ['conf', 'file-0'])
    t.is(readFileSync(join(store.target, 'file-0'), 'utf8'), `${store.lower[0]}\n`)
    t.is(readFileSync(join(store.target, 'conf', 'ports.conf'), 'utf8'), 'Listen 8000\n')

    const entry = await findMount(store.target)
    t.truthy(entry)
    t.is(entry?.fstype, 'overlay')
    t.is(entry?.mountPoint, store.target)
    t.deepEqual(entry?.datadirs, [])
    if (strategy === 'procfd') {
      // The kernel lists what it was given: one descriptor number.
      t.is(entry?.lowerdirs.length, 1)
      t.regex(entry?.lowerdirs[0] ?? '', /^\d+$/)
    } else {
      // fd layers are listed by the kernel's own d_path; the others as they were given.
      t.deepEqual(entry?.lowerdirs, expectedPlanned)
    }
    t.is(overlaysAt(store.target).length, 1)

    writeFileSync(join(store.target, 'written'), strategy)
    t.is(readFileSync(join(store.upper, 'written'), 'utf8'), strategy)

    await m.unmount()
    t.is(await findMount(store.target), null)
  })

  test(`${strategy}: three layers that all hold colons mount as three`, async (t) => {
    const names = [':apache2', 'php:8.2', 'base:']
    const store = colonStore(sandbox(t), names)
    const m = await mount({ ...store, strategy })

    t.is(m.layers, 3)
    t.deepEqual(readdirSync(store.target).sort(), ['conf', 'file-0', 'file-1', 'file-2'])
    // The top-most layer's copy of a shared file wins.
    t.is(readFileSync(join(store.target, 'conf', 'ports.conf'), 'utf8'), 'Listen 8000\n')
    names.forEach((_, i) => {
      t.is(readFileSync(join(store.target, `file-${i}`), 'utf8'), `${store.lower[i]}\n`)
    })

    const entry = await findMount(store.target)
    t.is(entry?.lowerdirs.length, 3)
    if (strategy === 'relative') t.deepEqual(entry?.lowerdirs, names)
    else if (strategy !== 'procfd') t.deepEqual(entry?.lowerdirs, store.lower)
    await m.unmount()
  })
}

test('auto mounts a colon layer with fd, one layer', async (t) => {
  const store = colonStore(sandbox(t), [':apache2'])
  const m = await mount(store)
  t.is(m.strategy, 'fd' satisfies Strategy)
  t.deepEqual((await findMount(store.target))?.lowerdirs, store.lower)
  t.deepEqual(readdirSync(store.target).sort(), ['conf', 'file-0'])
  await m.unmount()
})
