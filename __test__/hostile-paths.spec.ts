/**
 * Property: whatever the directory names, the package either refuses the layer set with a
 * typed `OverlayError` or mounts exactly those directories. Names are drawn from the
 * characters that mean something to one parser or another (`,` `:` `\` `=` space, tab,
 * newline), with injections such as `x,upperdir=<other dir>` and `x:<other dir>`, for the
 * lower layers, the upper and work dirs and the target alike.
 *
 * A mount is checked three ways: the merged view holds each layer's marker and, for the
 * file every layer has, the top-most layer's copy; mountinfo (through `findMount`) lists
 * exactly the layers and the upper dir that were asked for, no more options of either kind;
 * and a directory named in an injection never shows in the view nor receives a write.
 *
 * Node can only express non-UTF-8 names as Buffer paths, which this API does not take, so
 * every name here is valid UTF-8.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'
import type { ExecutionContext } from 'ava'
import fc from 'fast-check'

import { OverlayError, STRATEGIES, findMount, mount } from '../src'
import type { Mounted, Strategy } from '../src'
import { escapeUpperdir } from '../src/data'
import { sandbox } from './helpers/sandbox'

const RUNS = 30

/** One path component: hostile characters mixed with plain ones, never `/` or NUL. */
const component = fc
  .string({
    unit: fc.oneof(
      fc.constantFrom(',', ':', '\\', '=', ' ', '\t', '\n', '::', '\\:', ',,'),
      fc.constantFrom('a', 'b', 'x', '0', '9', '-', '.', '+', 'é', '層'),
    ),
    minLength: 1,
    maxLength: 10,
  })
  .filter((name) => name !== '.' && name !== '..' && Buffer.byteLength(name) <= 255)

/** A name, or an injection that spells another directory's path after a separator. */
type Name = { plain: string } | { inject: string }

const name: fc.Arbitrary<Name> = fc.oneof(
  { weight: 4, arbitrary: component.map((plain) => ({ plain })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom('x,upperdir=', 'x,workdir=', 'x,lowerdir=', 'x:', 'x::', 'x\\:', ',')
      .map((inject) => ({ inject })),
  },
)

interface LayerSet {
  lower: Name[]
  upper: Name | null
  work: Name
  target: Name
}

/** Half the sets have no comma, so that the legacy strategies (which refuse one) mount. */
const noComma = (n: Name): Name =>
  'plain' in n ? { plain: n.plain.replace(/,/g, ';') } : { inject: n.inject.replace(/,/g, ';') }

const layerSet: fc.Arbitrary<LayerSet> = fc
  .record({
    lower: fc.array(name, { minLength: 2, maxLength: 4 }),
    upper: fc.option(name, { nil: null }),
    work: name,
    target: name,
    commas: fc.boolean(),
  })
  .map(({ commas, ...set }) =>
    commas
      ? set
      : {
          lower: set.lower.map(noComma),
          upper: set.upper && noComma(set.upper),
          work: noComma(set.work),
          target: noComma(set.target),
        },
  )

/** The directories a layer set names, laid out under `root`; `other` is never a layer. */
interface Laid {
  lower: string[]
  upper?: string
  work?: string
  target: string
  other: string
  otherWork: string
}

/** Each role gets a parent of its own, so no generated path is inside another's. */
function lay(root: string, set: LayerSet): Laid {
  const other = join(root, 'other')
  const otherWork = join(root, 'other-work')
  const at = (parent: string, n: Name) =>
    join(root, parent, 'plain' in n ? n.plain : `${n.inject}${other}`)
  const lower = set.lower.map((n, i) => at(`l${i}`, n))
  const laid: Laid = { lower, target: at('t', set.target), other, otherWork }
  if (set.upper) {
    laid.upper = at('u', set.upper)
    laid.work = at('w', set.work)
  }
  for (const d of [other, otherWork, ...lower, laid.target, laid.upper, laid.work]) {
    if (d) mkdirSync(d, { recursive: true })
  }
  writeFileSync(join(other, 'other-marker'), 'other')
  lower.forEach((dir, i) => {
    writeFileSync(join(dir, `marker-${i}`), String(i))
    writeFileSync(join(dir, 'shared'), String(i))
  })
  return laid
}

/** What mountinfo must list as the lower layers for `m`, as the kernel was handed them. */
function expectedLowerdirs(m: Mounted, laid: Laid): readonly string[] | null {
  switch (m.strategy) {
    case 'fd':
      // By descriptor: the kernel lists the path of each directory.
      return laid.lower
    case 'procfd':
      // By descriptor number: only the count can be compared.
      return null
    default:
      return m.plan.lower
  }
}

async function checkMounted(t: ExecutionContext, m: Mounted, laid: Laid): Promise<void> {
  const view = readdirSync(laid.target).sort()
  const expected = [...laid.lower.map((_, i) => `marker-${i}`), 'shared'].sort()
  t.deepEqual(view, expected, 'the merged view is the layers asked for')
  t.is(readFileSync(join(laid.target, 'shared'), 'utf8'), '0', 'the top-most layer wins')

  const entry = await findMount(laid.target)
  t.truthy(entry, 'findMount finds the overlay at its hostile target')
  if (!entry) return
  t.is(entry.fstype, 'overlay')
  const lowerdirs = expectedLowerdirs(m, laid)
  if (lowerdirs) t.deepEqual(entry.lowerdirs, lowerdirs)
  else t.true(entry.lowerdirs.every((fd) => /^\d+$/.test(fd)), entry.lowerdirs.join(':'))
  t.is(entry.lowerdirs.length, laid.lower.length)
  t.deepEqual(entry.datadirs, [])

  const values = (key: string) => entry.superOptions.filter((o) => o.key === key)
  const writable = laid.upper !== undefined
  t.is(values('upperdir').length, writable ? 1 : 0, 'upperdir is there only if asked for')
  t.is(values('workdir').length, writable ? 1 : 0, 'workdir is there only if asked for')
  const byFd = m.strategy === 'procfd' && laid.upper?.includes(',')
  if (writable && !byFd) {
    // Handed over as a string, the upper dir is listed as given: with `\` escaped.
    const given = m.plan.upper!
    t.is(values('upperdir')[0].value, m.strategy === 'fd' ? given : escapeUpperdir(given))
  }
  const oneByOne = m.strategy === 'fd' || m.strategy === 'lowerdir+'
  t.is(values('lowerdir+').length, oneByOne ? laid.lower.length : 0)
  t.is(values('lowerdir').length, oneByOne ? 0 : 1)

  // A write lands in the upper dir, or is refused on a read-only overlay.
  if (writable) {
    writeFileSync(join(laid.target, 'written'), 'x')
    t.true(readdirSync(laid.upper!).includes('written'), 'the write went to the upper dir')
  } else {
    t.throws(() => writeFileSync(join(laid.target, 'written'), 'x'), { code: 'EROFS' })
  }
}

async function attempt(t: ExecutionContext, root: string, set: LayerSet, strategy?: Strategy) {
  const laid = lay(root, set)
  let m: Mounted | undefined
  try {
    m = await mount({ ...laid, strategy })
  } catch (err) {
    t.true(err instanceof OverlayError, `a typed error: ${String(err)}`)
    t.is(await findMount(laid.target), null, 'a refusal mounts nothing')
  }
  if (m) {
    try {
      await checkMounted(t, m, laid)
    } finally {
      await m.unmount()
    }
  }
  t.deepEqual(readdirSync(laid.other), ['other-marker'], 'the other dir never gets a write')
  t.deepEqual(readdirSync(laid.otherWork), [], 'nor does its work dir')
  return m !== undefined
}

for (const strategy of ['auto', ...STRATEGIES] as const) {
  const title = `${strategy}: hostile names either refuse or mount exactly the layers`
  test.serial(title, async (t) => {
    const dir = sandbox(t, 'hostile')
    let run = 0
    let mounted = 0
    await fc.assert(
      fc.asyncProperty(layerSet, async (set) => {
        const root = join(dir, `run-${run++}`)
        mkdirSync(root)
        const ok = await attempt(t, root, set, strategy === 'auto' ? undefined : strategy)
        if (ok) mounted++
        // A failed assertion does not throw in ava; tell fast-check, so that it shrinks.
        return t.passed
      }),
      { numRuns: RUNS },
    )
    t.log(`${mounted} of ${run} layer sets mounted`)
    t.true(mounted > 0, 'some layer sets mounted')
  })
}
