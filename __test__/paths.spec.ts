/**
 * Layer paths skip `posix.normalize` when they are already normal, and a list of them is
 * checked once per array. Properties: for any absolute path `checkPath` gives exactly what
 * normalizing gives; for any layer set the refusals of duplicates and of a target inside a
 * layer are those of the plain rule, from the cache as on first sight; and an array changed
 * after planning is checked again.
 */
import { posix } from 'node:path'

import test from 'ava'
import fc from 'fast-check'

import { OverlayError, STRATEGIES, plan, probeSync } from '../src'
import type { Features, MountOptions } from '../src'
import { checkMountOptions } from '../src/options'
import { checkPath, isNormal } from '../src/paths'

/** The rule `checkPath` had before the fast path, and still applies to the rest. */
function normalized(path: string): string {
  const normal = posix.normalize(path)
  return normal.length > 1 && normal.endsWith('/') ? normal.slice(0, -1) : normal
}

/** Components that `normalize` treats specially, or that look as if it might. */
const component = fc.oneof(
  fc.constantFrom('', '.', '..', '...', '.x', 'x.', '..x', 'x..', 'a', 'b c', '\\', ':'),
  fc.string({ minLength: 1, maxLength: 4 }).filter((s) => !s.includes('/') && !s.includes('\0')),
)
const absolute = fc.array(component, { maxLength: 8 }).map((parts) => `/${parts.join('/')}`)

test('checkPath gives what normalizing gives, for normal paths and others', (t) => {
  fc.assert(
    fc.property(absolute, (path) => {
      t.is(checkPath(path, 'lower[0]'), normalized(path), path)
    }),
    { numRuns: 5000 },
  )
})

test('isNormal holds exactly for the paths normalizing leaves alone', (t) => {
  fc.assert(
    fc.property(absolute, (path) => {
      t.is(isNormal(path), normalized(path) === path, path)
    }),
    { numRuns: 5000 },
  )
  for (const path of ['/', '/a', '/a/.b', '/a/..b', '/a/...', '/a b/c']) t.true(isNormal(path))
  for (const path of ['//', '/a/', '/a//b', '/./a', '/a/.', '/a/..', '/a/../b']) {
    t.false(isNormal(path), path)
  }
})

/** The rule for distinct layers before it was made allocation-free, as a reference. */
function referenceRefusal(o: MountOptions): string | null {
  const named: [string, string][] = [
    ...o.lower.map((p, i): [string, string] => [`lower[${i}]`, p]),
    ...(o.data ?? []).map((p, i): [string, string] => [`data[${i}]`, p]),
    ...(o.upper ? [['upper', o.upper] as [string, string]] : []),
    ...(o.work ? [['work', o.work] as [string, string]] : []),
  ]
  const seen = new Map<string, string>()
  for (const [role, path] of named) {
    const other = seen.get(path)
    if (other) return `${role} '${path}' is listed twice (also as ${other})`
    seen.set(path, role)
    if (o.target === path || o.target.startsWith(path === '/' ? '/' : `${path}/`)) {
      return `target '${o.target}' is ${o.target === path ? '' : 'inside '}${role} '${path}'`
    }
  }
  return null
}

function refusal(o: MountOptions, features: Features): string | null {
  try {
    checkMountOptions(o, features)
    return null
  } catch (err) {
    return (err as Error).message
  }
}

/** A kernel with every strategy, whatever this one has. */
const FULL_FEATURES: Features = {
  ...probeSync(),
  newMountApi: true,
  lowerdirPlus: true,
  fdLayers: true,
}

const POOL = ['/', '/a', '/a/b', '/a/bc', '/a/b/c', '/c', '/d/e']
const pooled = fc.constantFrom(...POOL)
const layerSet = fc.record({
  lower: fc.array(pooled, { minLength: 1, maxLength: 5 }),
  data: fc.array(pooled, { maxLength: 2 }),
  writable: fc.option(fc.tuple(pooled, pooled), { nil: undefined }),
  target: fc.constantFrom(...POOL, '/a/b/t', '/e'),
})

test('layers listed twice and a target inside a layer are refused as the reference says', (t) => {
  const features = probeSync()
  fc.assert(
    fc.property(layerSet, ({ lower, data, writable, target }) => {
      const o: MountOptions = { lower, data, target, upper: writable?.[0], work: writable?.[1] }
      const expected = referenceRefusal(o)
      // Twice: the second time the checked lists come from the cache.
      t.is(refusal(o, features), expected)
      t.is(refusal(o, features), expected)
    }),
    { numRuns: 3000 },
  )
})

test('a lower array changed after it was planned is checked again', (t) => {
  const lower = ['/x/one', '/x/two']
  const target = '/t'
  t.deepEqual(plan({ lower, target }).lower, ['/x/one', '/x/two'])
  lower[1] = '/x/./three/'
  t.deepEqual(plan({ lower, target }).lower, ['/x/one', '/x/three'])
  lower.push('relative')
  t.throws(() => plan({ lower, target }), { message: /lower\[2\] 'relative' is a relative path/ })
  lower[2] = '/x/one'
  t.throws(() => plan({ lower, target }), { message: /lower\[2\] '\/x\/one' is listed twice/ })
})

test('plans of one array share its checked layers, which no plan can change', (t) => {
  const lower = ['/x/one', '/x/two']
  const first = plan({ lower, target: '/t' })
  const second = plan({ lower, target: '/u' })
  t.is(first.lower, second.lower)
  t.true(Object.isFrozen(first.lower))
  t.throws(() => (first.lower as string[]).push('/x/three'), { instanceOf: TypeError })
  t.deepEqual(plan({ lower, target: '/v' }).lower, ['/x/one', '/x/two'])
})

test('a lower array is read once per plan, whatever its methods and getters say', (t) => {
  // Its own slice() answers with the live array: a copy made with it would follow changes.
  class Live extends Array<string> {
    slice(): Live {
      return this
    }
  }
  const live = Live.from(['/x/one', '/x/two'])
  t.deepEqual(plan({ lower: live, target: '/t' }).lower, ['/x/one', '/x/two'])
  live[0] = 'relative'
  t.throws(() => plan({ lower: live, target: '/t' }), { message: /lower\[0\] 'relative'/ })

  // A getter that answers differently from the first read on.
  let reads = 0
  const shifty: string[] = ['/x/two']
  Object.defineProperty(shifty, 0, { get: () => (reads++ === 0 ? '/x/ok' : '/x/evil') })
  t.deepEqual(plan({ lower: shifty, target: '/t' }).lower, ['/x/ok'])
  t.deepEqual(plan({ lower: shifty, target: '/t' }).lower, ['/x/evil'])
})

test('a hole in a list of layers is refused like any item that is not a string', (t) => {
  // eslint-disable-next-line no-sparse-arrays
  for (const lower of [
    [, '/x/a'],
    ['/x/a', , '/x/b'],
    [, , '/x/z'],
  ] as string[][]) {
    t.throws(() => plan({ lower, target: '/t' }), {
      instanceOf: OverlayError,
      message: /lower\[\d\] must be a string, got undefined/,
    })
  }
})

test("every strategy's plan has frozen layer lists", (t) => {
  const lower = ['/x/one', '/x/two']
  for (const strategy of STRATEGIES) {
    const planned = plan({ lower, target: '/t', strategy }, FULL_FEATURES)
    t.true(Object.isFrozen(planned.lower), strategy)
    t.true(Object.isFrozen(planned.dataLayers), strategy)
  }
})
