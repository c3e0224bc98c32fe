/**
 * C01: many layers with long absolute paths, laid out like a containerd snapshot store, so
 * that the legacy `lowerdir=a:b:...` string is well over one page.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'
import type { ExecutionContext } from 'ava'

import { ErrorCodes, OverlayError, mount, plan, probeSync } from '../src'
import type { MountOptions, Strategy } from '../src'
import { containerdStore } from '../src/example/store'
import {
  TOP,
  assertListed,
  assertMerged,
  assertNothingMounted,
  keepingCwd,
  legacyKernel,
  newApiStrategy,
} from './helpers/layers'
import { sandbox } from './helpers/sandbox'

/** Bytes of every layer path, as in the case. */
const PATH_BYTES = 68
/** Snapshot ids start here so that every id has three digits and every path one length. */
const FIRST_ID = 100
const SUFFIX = `/snapshots/${FIRST_ID}/fs`

/** A snapshot store of `count` layers whose absolute paths are exactly 68 bytes each. */
function store(t: ExecutionContext, count: number) {
  const dir = sandbox(t, 'c01')
  const root = join(dir, 'r'.repeat(PATH_BYTES - SUFFIX.length - dir.length - 1))
  const s = containerdStore(root, count, FIRST_ID)
  s.lower.forEach((layer) => writeFileSync(join(layer, TOP), `${layer}\n`))
  for (const layer of s.lower) t.is(Buffer.byteLength(layer), PATH_BYTES, layer)
  const options: MountOptions = { lower: s.lower, upper: s.upper, work: s.work, target: s.target }
  return { dir, root, store: s, options }
}

/** The legacy mount data with absolute paths, spelled out independently of the planner. */
function absoluteData(options: MountOptions): string {
  const extra = probeSync().userNamespace ? ['userxattr'] : []
  const parts = [`lowerdir=${options.lower.join(':')}`, `upperdir=${options.upper}`]
  return [...parts, `workdir=${options.work}`, ...extra].join(',')
}

for (const count of [60, 190]) {
  test(`${count} layers of ${PATH_BYTES}-byte paths: legacy data is over one page`, (t) => {
    const { options } = store(t, count)
    const page = probeSync().pageSize
    const data = absoluteData(options)
    const bytes = Buffer.byteLength(data)
    // `lowerdir=` and n paths with n - 1 colons, `,upperdir=` and 57 bytes, `,workdir=` and 56.
    const userxattr = probeSync().userNamespace ? ',userxattr'.length : 0
    t.is(bytes, 9 + count * (PATH_BYTES + 1) - 1 + 10 + 57 + 9 + 56 + userxattr)
    // The case's numbers are for 4 KiB pages; with larger ones the same data fits one page.
    if (page === 4096) t.true(bytes > page, `${bytes} bytes`)

    const huge = { ...probeSync(), pageSize: 1 << 30 }
    const unbounded = plan({ ...options, strategy: 'absolute' }, huge)
    t.is(unbounded.data, data)
    t.is(unbounded.dataBytes, bytes)
    if (bytes < page) return
    const err = t.throws(() => plan({ ...options, strategy: 'absolute' }), {
      instanceOf: OverlayError,
    })
    t.is(err?.code, ErrorCodes.DATA_TOO_LONG)
    t.is(err?.bytes, bytes)
    t.is(err?.pageSize, page)
  })

  const strategies: ['auto' | Strategy, string][] = [
    ['auto', 'this kernel'],
    ['relative', 'this kernel'],
    ['auto', 'a kernel without the new mount API'],
  ]
  for (const [strategy, kernel] of strategies) {
    test(`${count} ${PATH_BYTES}-byte layers mount with ${strategy} on ${kernel}`, async (t) => {
      const { root, store: s, options } = store(t, count)
      const legacy = kernel !== 'this kernel'
      const features = legacy ? legacyKernel() : probeSync()
      const bytes = Buffer.byteLength(absoluteData(options))
      const page = probeSync().pageSize
      const m = await keepingCwd(t, () => mount({ ...options, strategy }, { features }))

      const fallback = bytes >= page ? 'relative' : 'absolute'
      const auto = legacy ? fallback : newApiStrategy() ?? fallback
      t.is(m.strategy, strategy === 'auto' ? auto : strategy)
      t.is(m.layers, count)
      if (m.strategy === 'relative') {
        t.is(m.plan.cwd, join(root, 'snapshots'))
        const ids = s.lower.map((_, i) => FIRST_ID + count - 1 - i)
        t.deepEqual(m.plan.lower, ids.map((id) => `${id}/fs`))
        t.is(m.plan.upper, s.upper)
        t.is(m.plan.work, s.work)
        t.true(m.dataBytes < m.pageSize)
      }
      if (legacy) {
        t.deepEqual(
          m.plan.rejected.map((r) => r.strategy),
          bytes >= page ? ['fd', 'lowerdir+', 'absolute'] : ['fd', 'lowerdir+'],
        )
        if (bytes >= page) t.is(m.plan.rejected[2].reason, `data ${bytes} bytes >= page ${page}`)
      }

      assertMerged(t, s.target, s.lower)
      await assertListed(t, m, s.lower)
      await keepingCwd(t, () => m.unmount())
      await assertNothingMounted(t, s.root, s.target)
    })
  }
}
