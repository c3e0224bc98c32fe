/**
 * The main job, on a built-in example: lays out a containerd-like store of 300 layers under
 * a long root and a Docker-like one of 300 digest-named layers, plans and mounts each,
 * proves the merged view and the upper layer, unmounts, and removes everything it made.
 * Run it as root in a private mount namespace (`npm run demo` does both).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { STRATEGIES, isMounted, mount, plan, probe } from '../index'
import type { Features, Plan } from '../index'
import { legacyData } from '../data'
import { containerdStore, dockerStore } from './store'
import type { Store } from './store'

const LAYERS = 300

function say(line = ''): void {
  console.log(line)
}

/** What each strategy would make of `store`, forced on its own. */
function everyStrategy(store: Store, features: Features): void {
  for (const strategy of STRATEGIES) {
    try {
      const p = plan({ ...store, strategy }, features)
      const size =
        p.data !== null
          ? `${p.dataBytes} of ${p.pageSize} bytes of mount data`
          : 'one fsconfig call per layer'
      say(`    ${strategy.padEnd(9)} fits: ${size}${p.cwd ? `, from ${p.cwd}` : ''}`)
    } catch (err) {
      const why = (err as Error).message.replace(/^.*mount this: /, '')
      say(`    ${strategy.padEnd(9)} cannot: ${why}`)
    }
  }
}

function explain(p: Plan): void {
  say(`  chosen: ${p.strategy} (${p.reason})`)
  for (const r of p.rejected) say(`  ruled out ${r.strategy}: ${r.reason}`)
  if (p.cwd) say(`  the mount thread enters ${p.cwd}`)
  if (p.data !== null) say(`  mount data: ${p.dataBytes} bytes of a ${p.pageSize}-byte page`)
}

async function mountAndProve(name: string, store: Store): Promise<void> {
  const absolute = legacyData({
    lower: store.lower,
    data: [],
    upper: store.upper,
    work: store.work,
    options: [],
  })
  const pages = (Buffer.byteLength(absolute) / (await probe()).pageSize).toFixed(1)
  say(
    `${name}: ${store.lower.length} layers; ` +
      `as one lowerdir= string ${Buffer.byteLength(absolute)} bytes (${pages} pages)`,
  )

  say('  each strategy on its own:')
  everyStrategy(store, await probe())
  const cwd = process.cwd()
  const m = await mount(store)
  say(`  mounted on ${m.target}`)
  explain(m.plan)

  const seen = new Set(readdirSync(store.target))
  const missing = store.markers.filter((marker) => !seen.has(marker))
  if (missing.length > 0)
    throw new Error(`merged view lacks ${missing.length} layers, first ${missing[0]}`)
  say(`  merged view shows the marker file of every one of the ${store.markers.length} layers`)

  writeFileSync(join(store.target, 'written-through-the-overlay'), 'hello\n')
  const landed =
    readFileSync(join(store.upper, 'written-through-the-overlay'), 'utf8') === 'hello\n'
  const lowerUntouched = store.lower.every(
    (dir) => !existsSync(join(dir, 'written-through-the-overlay')),
  )
  if (!landed || !lowerUntouched)
    throw new Error('a write through the overlay did not land in upper alone')
  say('  a file written through the overlay landed in upper, and in no lower layer')

  await m.unmount()
  if (await isMounted(store.target)) throw new Error(`${store.target} is still mounted`)
  if (process.cwd() !== cwd) throw new Error(`the working directory moved to ${process.cwd()}`)
  say(`  unmounted; the process's working directory is still ${cwd}`)
}

function olderKernel(f: Features, release: string, patch: Partial<Features>): Features {
  return { ...f, ...patch, release }
}

async function main(): Promise<void> {
  const features = await probe()
  say(
    `kernel ${features.release}: page ${features.pageSize} bytes, ` +
      `fd layers ${features.fdLayers}, lowerdir+ ${features.lowerdirPlus}`,
  )
  const tmp = mkdtempSync(join(tmpdir(), 'overlayfs-example-'))
  try {
    const root = join(tmp, 'var/lib/containerd/io.containerd.snapshotter.v1.overlayfs')
    await mountAndProve('containerd-like store', containerdStore(root, LAYERS))
    say()

    const docker = dockerStore(join(tmp, 'var/lib/docker'), LAYERS)
    await mountAndProve('Docker-like store', docker)
    say('  on a kernel without the new mount API, the same store would be planned as:')
    explain(
      plan(
        docker,
        olderKernel(features, '5.1 (before the new mount API)', {
          newMountApi: false,
          lowerdirPlus: false,
          fdLayers: false,
          oPathFds: false,
        }),
      ),
    )
  } finally {
    rmSync(tmp, { recursive: true, force: true })
    say()
    say(`removed ${tmp}`)
  }
}

main().catch((err) => {
  console.error(`example failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})
