/**
 * C04: numeric snapshot ids that share a string prefix. `.../snapshots/9000/fs` and
 * `.../snapshots/9999/fs` share `.../snapshots/9`, which is no directory of theirs: the
 * common directory is `.../snapshots`, and every relative path is taken from there.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'
import type { ExecutionContext } from 'ava'

import { commonDirectory, mount, plan, relativeTo } from '../src'
import type { MountOptions, Strategy } from '../src'
import {
  assertListed,
  assertMerged,
  assertNothingMounted,
  layLower,
  makeDirs,
  newApiStrategy,
} from './helpers/layers'
import { sandbox } from './helpers/sandbox'

/** Snapshot ids from `first` to `last` in steps of `step`, highest (top-most) first. */
function ids(first: number, last: number, step: number): number[] {
  const out: number[] = []
  for (let id = first; id <= last; id += step) out.push(id)
  return out.reverse()
}

/** Mount options for layers `<root>/snapshots/<id>/fs`, with upper and work beside them. */
function snapshots(root: string, list: number[]): MountOptions {
  const lower = list.map((id) => join(root, 'snapshots', String(id), 'fs'))
  const [upper, work, target] = ['upper', 'work', 'merged'].map((n) => join(root, n))
  return { lower, upper, work, target }
}

function lay(options: MountOptions): void {
  layLower(options.lower)
  makeDirs(options.upper as string, options.work as string, options.target)
}

/** Mounts `options` with `strategy`, checks the merged view and mountinfo, unmounts. */
async function mountAndCheck(t: ExecutionContext, dir: string, o: MountOptions, s: Strategy) {
  const m = await mount({ ...o, strategy: s })
  t.is(m.strategy, s)
  assertMerged(t, o.target, o.lower)
  await assertListed(t, m, o.lower)
  await m.unmount()
  await assertNothingMounted(t, dir, o.target)
  return m
}

const sets: [string, number[]][] = [
  ['ids 9000 to 10400 in steps of 4', ids(9000, 10400, 4)],
  ['ids 9000 to 9999 in steps of 3', ids(9000, 9999, 3)],
]
for (const [name, list] of sets) {
  test(`${list.length} snapshots, ${name}: relative cuts at snapshots/ and mounts`, async (t) => {
    const dir = sandbox(t, 'c04')
    const options = snapshots(dir, list)
    lay(options)
    // Were the cut made at the string prefix `snapshots/9`, these would be mounted instead.
    for (const id of list.filter((i) => i < 10000)) {
      const trap = join(dir, 'snapshots', '9', String(id).slice(1), 'fs')
      mkdirSync(trap, { recursive: true })
      writeFileSync(join(trap, 'trap'), `${trap}\n`)
    }

    const p = plan({ ...options, strategy: 'relative' })
    t.is(p.cwd, join(dir, 'snapshots'))
    t.deepEqual(p.lower, list.map((id) => `${id}/fs`))
    t.is(p.upper, join(dir, 'upper'))
    t.is(p.work, join(dir, 'work'))
    t.is(p.data, `lowerdir=${p.lower.join(':')},upperdir=${options.upper},workdir=${options.work}`)
    t.true(p.dataBytes < p.pageSize)

    // The merged view holds exactly the layers' files: no `trap` from snapshots/9.
    const m = await mountAndCheck(t, dir, options, 'relative')
    t.is(m.layers, list.length)
    t.true(existsSync(join(dir, 'snapshots', '9', '000', 'fs', 'trap')))

    const auto = newApiStrategy()
    if (auto) await mountAndCheck(t, dir, options, auto)
  })
}

test('layers under two unrelated roots compact to / and mount', async (t) => {
  const dir = sandbox(t, 'c04')
  // A second temporary directory under another top-level directory than the sandbox's.
  const top = dir.split('/')[1]
  const base = ['/var/tmp', '/dev/shm', '/tmp'].find((d) => d.split('/')[1] !== top) as string
  const other = mkdtempSync(join(base, 'c04-other-'))
  t.teardown(() => rmSync(other, { recursive: true, force: true }))

  const lower = [join(dir, 'a', 'fs'), join(other, 'b', 'fs'), join(dir, 'c', 'fs')]
  const options = { lower, upper: join(dir, 'u'), work: join(dir, 'w'), target: join(dir, 'm') }
  lay(options)

  const p = plan({ ...options, strategy: 'relative' })
  t.is(p.cwd, '/')
  t.deepEqual(p.lower, lower.map((l) => l.slice(1)))
  await mountAndCheck(t, dir, options, 'relative')
})

const prefixPairs: [string, string[]][] = [
  ['x/a above x/aaa', ['a', 'aaa']],
  ['x/aaa above x/a', ['aaa', 'a']],
  ['x/a alone', ['a']],
]
for (const [name, names] of prefixPairs) {
  test(`${name}: the common directory is x, never x/a`, async (t) => {
    const dir = sandbox(t, 'c04')
    const x = join(dir, 'x')
    const lower = names.map((n) => join(x, n))
    const options = { lower, upper: join(dir, 'u'), work: join(dir, 'w'), target: join(dir, 'm') }
    lay(options)

    const p = plan({ ...options, strategy: 'relative' })
    t.is(p.cwd, x)
    t.deepEqual(p.lower, names)
    await mountAndCheck(t, dir, options, 'relative')
  })
}

const common: [string[], string][] = [
  [['/s/9000/fs', '/s/9999/fs'], '/s'],
  [['/s/9999/fs', '/s/9000/fs', '/s/10400/fs'], '/s'],
  [['/s/9/fs', '/s/9000/fs'], '/s'],
  [['/s/90/fs', '/s/9/fs'], '/s'],
  [['/x/a', '/x/aaa'], '/x'],
  [['/x/aaa', '/x/a'], '/x'],
  [['/x/a', '/x/a/b'], '/x'],
  [['/x/a/b', '/x/a'], '/x'],
  [['/x/a/b/c', '/x/a/b/d'], '/x/a/b'],
  [['/a/b', '/c/d'], '/'],
  [['/ab/c', '/a/c'], '/'],
  [['/a/b/c'], '/a/b'],
  [['/a/b', '/a/b'], '/a'],
  [['/a'], '/'],
  [['/a', '/b'], '/'],
]
for (const [paths, expected] of common) {
  test(`commonDirectory(${JSON.stringify(paths)}) is ${expected}`, (t) => {
    const dir = commonDirectory(paths)
    t.is(dir, expected)
    for (const path of paths) {
      const rel = relativeTo(dir, path)
      t.not(rel, '.', `${path} needs a name relative to ${dir}`)
      t.false(rel.startsWith('/'), `${path} is inside ${dir}`)
      t.is(join(dir, rel), path)
    }
  })
}

test('commonDirectory of / alone or of nothing is /', (t) => {
  t.is(commonDirectory(['/']), '/')
  t.is(commonDirectory([]), '/')
})

const relative: [string, string, string][] = [
  ['/s', '/s/9000/fs', '9000/fs'],
  ['/s', '/s/9', '9'],
  ['/s/9', '/s/9000/fs', '/s/9000/fs'],
  ['/s/9', '/s/9/000/fs', '000/fs'],
  ['/x/a', '/x/aaa', '/x/aaa'],
  ['/x/a', '/x/a/aa', 'aa'],
  ['/x', '/x', '.'],
  ['/', '/a/b', 'a/b'],
  ['/', '/', '.'],
  ['/x/y', '/z', '/z'],
]
for (const [dir, path, expected] of relative) {
  test(`relativeTo(${dir}, ${path}) is ${expected}`, (t) => {
    t.is(relativeTo(dir, path), expected)
  })
}
