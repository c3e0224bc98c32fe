/** A worker that loads the package on its own and runs its share of the soak. */
import { mkdirSync } from 'node:fs'
import { parentPort, workerData } from 'node:worker_threads'

import { layCanary, runCycles } from './cycles'

const { root, cycles, inFlight } = workerData as { root: string; cycles: number; inFlight: number }
mkdirSync(root, { recursive: true })
runCycles(root, cycles, inFlight, layCanary(root)).then(
  (figures) => parentPort?.postMessage(figures),
  (err) => parentPort?.postMessage({ error: String(err) }),
)
