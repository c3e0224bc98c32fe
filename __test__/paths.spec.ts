/**
 * Layer paths skip `posix.normalize` when they are already normal. Property: for any
 * absolute path, normal or not, `checkPath` gives exactly what normalizing gives.
 */
import { posix } from 'node:path'

import test from 'ava'
import fc from 'fast-check'

import { checkPath, isNormal } from '../src/options'

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
