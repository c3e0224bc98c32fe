/**
 * The synchronous part of one `mount(options)` call, which runs on the event loop before
 * the mount thread takes over: planning, then the native call that converts the request
 * and queues it. A burst of mounts holds the loop for the sum of these.
 */
import { join } from 'node:path'

import { plan } from '../dist'
import { native } from '../dist/native'
import { mountOptions } from './layer-sets'
import type { LayerSet } from './layer-sets'
import { median, now } from './stats'

export interface MainThreadCost {
  layers: number
  /** Median time of `plan(options)`, in µs. */
  planUs: number
  /** Median time of the native call's synchronous part (conversion and queueing), in µs. */
  submitUs: number
}

/** Times `calls` plans and native submissions on each layer set, interleaved. */
export async function mainThreadCosts(
  sets: readonly LayerSet[],
  calls: number,
): Promise<MainThreadCost[]> {
  const times = sets.map((): [number[], number[]] => [[], []])
  for (let i = 0; i < calls; i++) {
    for (const [k, set] of sets.entries()) {
      let start = now()
      const planned = plan(mountOptions(set, 'auto'))
      times[k][0].push(now() - start)

      // A target that does not exist: the mount thread opens the layers, then refuses.
      const target = join(set.store.root, 'no-such-target')
      const request = { ...planned.request, target }
      start = now()
      const settled = native().mount(request)
      times[k][1].push(now() - start)
      const failure = await settled
      if (failure?.code !== 'ENOENT') throw new Error(`a mount on '${target}' should fail`)
    }
  }
  return sets.map((set, k) => ({
    layers: set.layers,
    planUs: median(times[k][0]) / 1e3,
    submitUs: median(times[k][1]) / 1e3,
  }))
}
