/**
 * A layer set made of real files nobody wrote for this project: every package directory in
 * the project's own node_modules, each copied as one layer. The merged view is checked
 * against a union computed here, path by path and byte by byte.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { findMount, mount } from '../src'
import { sandbox } from './helpers/sandbox'
import { diffTrees, expectedUnion, walk } from './helpers/tree'

const NODE_MODULES = join(__dirname, '..', 'node_modules')
const MAX_PACKAGES = 150

/** Package directories in node_modules, top-level and scoped, sorted by name. */
function packages(): string[] {
  const names: string[] = []
  for (const name of readdirSync(NODE_MODULES).sort()) {
    if (name.startsWith('.')) continue
    if (!name.startsWith('@')) {
      names.push(name)
      continue
    }
    for (const scoped of readdirSync(join(NODE_MODULES, name)).sort()) {
      if (!scoped.startsWith('.')) names.push(`${name}/${scoped}`)
    }
  }
  return names
}

/** At most `max` of `all`, spread evenly over it so that every part of the alphabet shows. */
function spread<T>(all: T[], max: number): T[] {
  if (all.length <= max) return all
  return Array.from({ length: max }, (_, i) => all[Math.floor((i * all.length) / max)])
}

test('every package of node_modules as one layer: the merged view is their union', async (t) => {
  const dir = sandbox(t)
  const picked = spread(packages(), MAX_PACKAGES)
  t.true(picked.length >= 100, `${picked.length} packages`)

  const lower = picked.map((name, i) => {
    const layer = join(dir, 'layers', `${String(i).padStart(3, '0')}-${name.replace('/', '+')}`)
    cpSync(join(NODE_MODULES, name), layer, { recursive: true, verbatimSymlinks: true })
    return layer
  })
  const target = join(dir, 'merged')
  mkdirSync(target)

  const expected = expectedUnion(lower)
  const rootNames = lower.flatMap((layer) => readdirSync(layer))
  const shadowed = rootNames.length - new Set(rootNames).size
  t.true(shadowed > 100, 'layers overlap, so the top-most layer must win somewhere')
  t.true([...expected.values()].some((e) => e.kind === 'symlink'), 'symlinks are part of it')

  const m = await mount({ lower, target })
  t.is(m.strategy, 'fd')
  t.is(m.layers, picked.length)
  t.deepEqual((await findMount(target))?.lowerdirs, lower)

  const actual = walk(target)
  t.is(actual.size, expected.size)
  t.deepEqual(diffTrees(expected, actual), { missing: [], extra: [], kind: [], content: [] })
  const manifest = (root: string) => readFileSync(join(root, 'package.json'), 'utf8')
  t.is(manifest(target), manifest(lower[0]))
  await m.unmount()
})
