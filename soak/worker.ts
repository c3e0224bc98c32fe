/** A worker that loads the package on its own and runs its share of the soak. */
import { unlinkSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'

import { layCanary, runCycles } from './cycles'

const { root, cycles, inFlight } = workerData as { root: string; cycles: number; inFlight: number }
const canary = layCanary(process.cwd())
// The canary goes before the answer: the parent may terminate this worker on receipt.
runCycles(root, cycles, inFlight, canary).then(
  (figures) => {
    unlinkSync(canary)
    parentPort?.postMessage(figures)
  },
  (err) => {
    unlinkSync(canary)
    parentPort?.postMessage({ error: String(err) })
  },
)
