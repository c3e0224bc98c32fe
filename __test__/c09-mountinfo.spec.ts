/**
 * C09: reading mountinfo. An overlay of ~100 `lowerdir+` layers has a mountinfo line longer
 * than a page, and path fields escape space, tab, newline and backslash as octal. The
 * package must find and parse such mounts exactly.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { findMount, isMounted, mount } from '../src'
import { overlaysAt, rawMountinfo } from './helpers/mountinfo-raw'
import { sandbox } from './helpers/sandbox'

/** `count` lower layers of 30-byte names under `dir`, each with a marker, and the rest. */
function thirtyByteStore(dir: string, count: number) {
  const lower = Array.from({ length: count }, (_, i) => {
    const name = `layer-${String(i).padStart(3, '0')}-`.padEnd(30, 'x')
    return join(dir, 'layers', name)
  })
  lower.forEach((layer, i) => {
    mkdirSync(layer, { recursive: true })
    writeFileSync(join(layer, `marker-${i}`), '')
  })
  const [upper, work, target] = ['upper', 'work', 'merged'].map((n) => join(dir, n))
  for (const d of [upper, work, target]) mkdirSync(d)
  return { lower, upper, work, target }
}

test('a mountinfo line over 4096 bytes is found and parsed whole', async (t) => {
  const dir = sandbox(t)
  const store = thirtyByteStore(dir, 100)
  t.true(store.lower.every((p) => p.endsWith('x') && p.split('/').pop()?.length === 30))
  const m = await mount({ ...store, strategy: 'lowerdir+' })

  const lines = overlaysAt(store.target)
  t.is(lines.length, 1)
  const bytes = Buffer.byteLength(lines[0].line)
  t.true(bytes > 4096, `the line is ${bytes} bytes`)

  // A second overlay after it, so that the long line is not the last one.
  const after = thirtyByteStore(join(dir, 'after'), 2)
  const second = await mount({ ...after, strategy: 'lowerdir+' })
  const ids = rawMountinfo().map((l) => l.id)
  t.true(ids.indexOf(lines[0].id) < ids.indexOf(overlaysAt(after.target)[0].id))

  const entry = await findMount(store.target)
  t.truthy(entry)
  t.is(entry?.id, lines[0].id)
  t.is(entry?.mountPoint, store.target)
  t.is(entry?.fstype, 'overlay')
  t.deepEqual(entry?.lowerdirs, store.lower)
  t.deepEqual(entry?.datadirs, [])
  const option = (key: string) => entry?.superOptions.find((o) => o.key === key)?.value
  t.is(option('upperdir'), store.upper)
  t.is(option('workdir'), store.work)
  t.is(readdirSync(store.target).length, 100)

  t.deepEqual((await findMount(after.target))?.lowerdirs, after.lower)
  await second.unmount()
  await m.unmount()
  t.false(await isMounted(store.target))
})

test('a target with a space, a tab and a newline is found exactly', async (t) => {
  const dir = sandbox(t)
  const target = join(dir, 'a b\tc\nd')
  // The same name spelled with literal backslashes: a second, distinct mount point.
  const literal = join(dir, 'a\\040b\\011c\\012d')
  // Layers and upper with the same characters in their names.
  const lower = [join(dir, 'low er'), join(dir, 'tab\there'), join(dir, 'new\nline')]
  const upper = join(dir, 'up per')
  const work = join(dir, 'wo\trk')
  for (const d of [target, literal, ...lower, upper, work]) mkdirSync(d)
  lower.forEach((layer, i) => writeFileSync(join(layer, `marker-${i}`), ''))

  const m = await mount({ lower, upper, work, target })
  const [line] = overlaysAt(target)
  t.is(line.line.split(' ')[4], `${dir}/a\\040b\\011c\\012d`)
  t.true(await isMounted(target))
  t.false(await isMounted(literal))
  t.false(await isMounted(join(dir, 'a')))

  const entry = await findMount(target)
  t.is(entry?.mountPoint, target)
  t.is(entry?.id, line.id)
  t.deepEqual(entry?.lowerdirs, lower)
  t.is(entry?.superOptions.find((o) => o.key === 'upperdir')?.value, upper)
  t.is(entry?.superOptions.find((o) => o.key === 'workdir')?.value, work)
  t.deepEqual(readdirSync(target).sort(), ['marker-0', 'marker-1', 'marker-2'])

  // The literal-backslash twin, read-only, is told apart from the first.
  const twin = await mount({ lower: lower.slice(0, 2), target: literal })
  const twinEntry = await findMount(literal)
  t.is(twinEntry?.mountPoint, literal)
  t.not(twinEntry?.id, entry?.id)
  t.deepEqual(twinEntry?.lowerdirs, lower.slice(0, 2))
  t.is((await findMount(target))?.id, entry?.id)

  await m.unmount()
  t.false(await isMounted(target))
  t.true(await isMounted(literal))
  await twin.unmount()
  t.false(await isMounted(literal))
})
