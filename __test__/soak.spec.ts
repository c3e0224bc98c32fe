import test from 'ava'

import { soak } from '../soak/soak'
import { assertPrivateNamespace } from './helpers/sandbox'

test('a short soak leaves descriptors, threads and overlay mounts as they were', async (t) => {
  assertPrivateNamespace()
  const f = await soak(400, 16)
  t.deepEqual(f.failures, [])
  t.is(f.cycles, 400)
  t.is(f.canaryMisses, 0)
  t.true(f.canaryReads > 0)
  t.is(f.after.descriptors, f.before.descriptors)
  t.is(f.after.threads, f.before.threads)
  t.is(f.after.overlays, f.before.overlays)
  t.true(
    f.after.rssMiB - f.before.rssMiB <= f.rssBoundMiB,
    `${f.before.rssMiB} -> ${f.after.rssMiB}`,
  )
  t.true(f.ok)
})
