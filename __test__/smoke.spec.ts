import { readdirSync } from 'node:fs'

import test from 'ava'

import { STRATEGIES, isMounted, mount, probeSync } from '../src'
import { containerdStore } from '../src/example/store'
import { sandbox } from './helpers/sandbox'

for (const strategy of STRATEGIES) {
  test(`strategy ${strategy} mounts three layers and unmounts`, async (t) => {
    const store = containerdStore(sandbox(t), 3)
    const m = await mount({ ...store, strategy })
    t.is(m.strategy, strategy)
    t.deepEqual(readdirSync(store.target).sort(), [...store.markers].sort())
    t.true(await isMounted(store.target))
    await m.unmount()
    t.false(await isMounted(store.target))
  })
}

test('auto picks fd on a kernel with file-descriptor layers', (t) => {
  t.is(probeSync().fdLayers, true, 'this suite expects a 6.13+ kernel')
})
