/**
 * Installs the package the way a user does. The release script packs the main package and
 * the host's platform package; npm installs the two tarballs offline, from an empty cache,
 * into a fresh project outside the repository; that project then mounts and unmounts with
 * `require` and with `import` on a PATH without a Rust toolchain, and strict TypeScript
 * consumers type-check against the installed declarations.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs'
import { symlinkSync, writeFileSync } from 'node:fs'
import { delimiter, join, resolve } from 'node:path'

import test from 'ava'
import type { ExecutionContext } from 'ava'

import { platformTriple } from '../src/native'
import { containerdStore } from '../src/example/store'
import { sandbox } from './helpers/sandbox'

const repo = resolve(__dirname, '..')
const fixtures = join(__dirname, 'fixtures', 'install')
const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc')

/** What a fixture script prints after mounting from the installed project. */
interface Report {
  strategy: string
  listed: string[]
  upper: string[]
  mounted: boolean
  mountedAfter: boolean
  typedErrors: boolean
  sameInstance?: boolean
  resolved: string
  binaries: string[]
  modules: string[]
}

/** The first `name` on this process's PATH. */
function which(name: string): string {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean)
  const found = dirs.map((d) => join(d, name)).find((f) => existsSync(f))
  if (!found) throw new Error(`no ${name} on PATH`)
  return found
}

/**
 * A PATH with no Rust toolchain: a directory holding only this Node and npm, then the
 * directories of PATH that hold neither cargo nor rustc (nor are ~/.cargo/bin).
 */
function pathWithoutRust(home: string): string {
  const bin = join(home, 'bin')
  mkdirSync(bin)
  symlinkSync(process.execPath, join(bin, 'node'))
  symlinkSync(which('npm'), join(bin, 'npm'))
  const rustless = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((d) => d && !d.includes('.cargo'))
    .filter((d) => !['cargo', 'rustc'].some((b) => existsSync(join(d, b))))
  return [bin, ...rustless].join(delimiter)
}

/** An environment with nothing of the repository or the test run in it. */
function userEnv(home: string): NodeJS.ProcessEnv {
  return {
    PATH: pathWithoutRust(home),
    HOME: home,
    npm_config_cache: join(home, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
  }
}

/** Packs with the release script, without building or stamping: `npm test` built already. */
function packRelease(out: string): string[] {
  const args = [join(repo, 'scripts', 'release.mjs'), '--skip-build', '--no-stamp', '--out', out]
  const printed = execFileSync(process.execPath, args, {
    cwd: repo,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return printed.split('\n').filter(Boolean)
}

/** Runs a fixture script in the project and parses the report it prints. */
function runFixture(
  t: ExecutionContext,
  app: string,
  env: NodeJS.ProcessEnv,
  script: string,
  options: object,
): Report {
  const args = [script, JSON.stringify(options)]
  const run = spawnSync(process.execPath, args, { cwd: app, env, encoding: 'utf8' })
  t.is(run.status, 0, `${script} failed:\n${run.stderr}`)
  return JSON.parse(run.stdout) as Report
}

/** Checks one fixture's report: the overlay worked, and nothing came from the repository. */
function checkReport(t: ExecutionContext, report: Report, app: string, markers: string[]): void {
  const installed = join(app, 'node_modules')
  const triple = platformTriple()
  t.deepEqual(report.listed, [...markers].sort())
  t.deepEqual(report.upper, ['written'], 'a write through the overlay lands in upperdir')
  t.true(report.mounted)
  t.false(report.mountedAfter)
  t.true(report.typedErrors)
  t.true(report.resolved.replace('file://', '').startsWith(`${installed}/overlayfs/`))
  const binary = join(installed, `overlayfs-${triple}`, `overlayfs.${triple}.node`)
  t.deepEqual(report.binaries, [binary], 'the one binary mapped is the platform package’s')
  const outside = report.modules.filter((m) => !m.startsWith(`${app}/`))
  t.deepEqual(outside, [], 'every module loaded comes from the installed project')
}

/** Packs both packages and installs them offline into a new project `app` under `dir`. */
function install(t: ExecutionContext, dir: string, app: string, env: NodeJS.ProcessEnv): void {
  const tarballs = packRelease(join(dir, 'release'))
  const triple = platformTriple()
  const main = tarballs.find((f) => /\/overlayfs-\d[^/]*\.tgz$/.test(f))
  const platform = tarballs.find((f) => f.includes(`/overlayfs-${triple}-`))
  if (!main || !platform) throw new Error(`no main or ${triple} tarball in ${tarballs.join(' ')}`)

  mkdirSync(app)
  const project = { name: 'app', version: '1.0.0', private: true }
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(project)}\n`)
  const args = ['install', '--offline', main, platform]
  const run = spawnSync('npm', args, { cwd: app, env, encoding: 'utf8' })
  t.is(run.status, 0, `npm install --offline failed:\n${run.stderr}`)

  const installed = join(app, 'node_modules', 'overlayfs')
  const manifest = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'))
  t.deepEqual(manifest.dependencies ?? {}, {}, 'the main package has no runtime dependency')
  t.is(manifest.scripts, undefined, 'and no lifecycle script')
  t.is(manifest.optionalDependencies[`overlayfs-${triple}`], manifest.version)
  t.false(existsSync(join(installed, 'native')), 'no binary inside the main package')
}

/** Type-checks the strict consumers in `app` under each module resolution a project uses. */
function typeCheck(t: ExecutionContext, app: string, env: NodeJS.ProcessEnv): void {
  // The consumer brings its own @types/node, as a TypeScript project on Node does.
  for (const types of ['@types/node', 'undici-types']) {
    const into = join(app, 'node_modules', types)
    cpSync(join(repo, 'node_modules', types), into, { recursive: true })
  }
  for (const file of readdirSync(fixtures).filter((f) => /^(consumer|tsconfig)/.test(f))) {
    copyFileSync(join(fixtures, file), join(app, file))
  }
  for (const config of ['nodenext', 'bundler', 'node10']) {
    const args = [tsc, '-p', `tsconfig.${config}.json`]
    const run = spawnSync(process.execPath, args, { cwd: app, env, encoding: 'utf8' })
    t.is(run.status, 0, `tsc --noEmit (${config}) failed:\n${run.stdout}${run.stderr}`)
  }
}

test('installed from its tarballs, it mounts with require and import and type-checks', (t) => {
  const dir = sandbox(t, 'install')
  const home = join(dir, 'home')
  const app = join(dir, 'app')
  mkdirSync(home)
  const env = userEnv(home)
  const rust = spawnSync('/bin/sh', ['-c', 'command -v cargo rustc'], { env, encoding: 'utf8' })
  t.is(rust.stdout, '', 'no Rust toolchain on the project’s PATH')

  install(t, dir, app, env)

  for (const script of ['use-require.cjs', 'use-import.mjs']) {
    copyFileSync(join(fixtures, script), join(app, script))
    const { lower, upper, work, target, markers } = containerdStore(join(dir, script), 3)
    const report = runFixture(t, app, env, script, { lower, upper, work, target })
    checkReport(t, report, app, markers)
    if (script.endsWith('.mjs')) t.true(report.sameInstance, 'import and require share a module')
  }

  const cli = join(app, 'node_modules', '.bin', 'overlayfs')
  const probe = spawnSync(cli, ['probe', '--json'], { cwd: app, env, encoding: 'utf8' })
  t.is(probe.status, 0, `overlayfs probe --json failed:\n${probe.stderr}`)
  t.is(typeof JSON.parse(probe.stdout).pageSize, 'number')

  typeCheck(t, app, env)
})
