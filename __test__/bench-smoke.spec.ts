/**
 * A smoke run of the benchmark with very few iterations: it must complete and report every
 * row with finite figures. A benchmark is not a test, so no timing is asserted here.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

import test from 'ava'

import { STRATEGIES } from '../dist'
import { SMOKE, runBench } from '../bench/run'
import { sandbox } from './helpers/sandbox'

const REPO = resolve(__dirname, '..')

const finite = (v: number) => Number.isFinite(v) && v >= 0
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

test('the benchmark completes and reports every row with finite figures', async (t) => {
  const workDir = sandbox(t, 'bench')
  execFileSync('cargo', ['build', '--quiet', '-p', 'overlayfs-bench'], { cwd: REPO })
  const resultsDir = join(workDir, 'results')
  const { result, markdown, svg } = await runBench({
    ...SMOKE,
    binary: join(REPO, 'target', 'debug', 'overlayfs-bench'),
    workDir,
    resultsDir,
    log: () => {},
  })

  for (const layers of SMOKE.layerCounts) {
    const kinds = [
      ...['auto', ...STRATEGIES].map((s) => ['package', s]),
      ['planned', 'auto'],
      ...STRATEGIES.map((s) => ['native', s]),
      ['pool', 'auto'],
      ['fresh', 'auto'],
      ['hops', 'auto'],
      ['mount8', 'auto'],
    ]
    for (const [kind, strategy] of kinds) {
      const row = `${kind} ${strategy} ${layers}`
      const timing = result.timings.find((x) => x.approach.id === row)
      if (!timing) {
        t.fail(`no timing for ${row}`)
        continue
      }
      if (timing.approach.skip === null) {
        t.true(timing.medianNs > 0 && Number.isFinite(timing.medianNs), row)
      } else {
        t.regex(timing.approach.skip, /\d/, `${row} says why it cannot run, in numbers`)
      }
    }
    t.true(result.nativeRows.some((r) => r.layers === layers && r.label.startsWith('auto (')))
    t.regex(markdown, new RegExp(`^\\| ${layers} \\| auto`, 'm'))
    t.regex(markdown, new RegExp(`^\\| ${layers} \\| plan once`, 'm'))
    for (const s of STRATEGIES) {
      t.regex(markdown, new RegExp(`^\\| ${layers} \\| ${literal(s)} \\|`, 'm'))
    }
  }
  for (const r of [...result.nativeRows, ...result.mount8Rows]) {
    t.true(r.ratio > 0 && Number.isFinite(r.ratio), `ratio at ${r.layers}`)
  }

  const { baseline, loaded, readOnly } = result.load
  for (const phase of [baseline, loaded, readOnly]) {
    t.true([phase.eventLoop.p50, phase.eventLoop.p99, phase.eventLoop.max].every(finite))
    t.true(phase.fsRead.p50 > 0 && phase.fsRead.p99 > 0 && phase.fsRead.reads > 0)
  }
  t.deepEqual(
    result.throughput.map((x) => x.inFlight),
    SMOKE.throughputLevels,
  )
  for (const x of result.throughput) {
    for (const rate of [x.cyclesPerSecond, x.readOnlyCyclesPerSecond]) {
      t.true(rate > 0 && Number.isFinite(rate), `throughput at ${x.inFlight} in flight`)
    }
  }

  t.deepEqual(
    result.mainThread.map((c) => c.layers),
    SMOKE.layerCounts,
  )
  for (const c of result.mainThread) t.true(c.planUs > 0 && c.submitUs > 0, `${c.layers} layers`)

  t.is(result.targets.length, 5)
  t.is(markdown.match(/^- (met|NOT met): /gm)?.length, 5)
  t.notRegex(markdown, /NaN|undefined|Infinity/)
  t.true(svg.startsWith('<svg') && svg.trimEnd().endsWith('</svg>'))
  t.notRegex(svg, /NaN|undefined|Infinity/)
  t.is(readFileSync(join(resultsDir, 'latest.md'), 'utf8'), markdown)
  t.true(existsSync(join(resultsDir, 'latest.svg')))
})
