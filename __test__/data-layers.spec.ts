import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { STRATEGIES, findMount, mount, plan } from '../src'
import { sandbox } from './helpers/sandbox'

function layers(dir: string) {
  const make = (name: string, file: string) => {
    const path = join(dir, name)
    mkdirSync(path)
    writeFileSync(join(path, file), name)
    return path
  }
  const lower = [make('lower', 'top-file')]
  const data = [make('data-0', 'blob-0'), make('data-1', 'blob-1')]
  const target = join(dir, 'merged')
  mkdirSync(target)
  return { lower, data, target }
}

for (const strategy of STRATEGIES) {
  test(`${strategy}: data-only layers stack below the lower ones, with metacopy=on`, async (t) => {
    const set = layers(sandbox(t, 'data'))
    const m = await mount({ ...set, strategy })
    t.deepEqual(m.plan.options, ['metacopy=on'])
    t.is(m.layers, 3)
    // Data-only layers serve redirected file data; their own trees are not merged.
    t.deepEqual(readdirSync(set.target), ['top-file'])
    const entry = await findMount(set.target)
    t.is(entry?.lowerdirs.length, 1)
    t.is(entry?.datadirs.length, 2)
    if (strategy !== 'relative' && strategy !== 'procfd') {
      t.deepEqual(entry?.lowerdirs, set.lower)
      t.deepEqual(entry?.datadirs, set.data)
    }
    await m.unmount()
  })
}

test('data-only layers with userxattr are refused before any syscall', (t) => {
  const err = t.throws(() =>
    plan({ lower: ['/l'], data: ['/d'], target: '/t', options: ['userxattr'] }),
  )
  t.is((err as { code?: string }).code, 'ERR_OVERLAY_INVALID_OPTIONS')
  t.regex(err!.message, /metacopy=on.*userxattr/)
})
