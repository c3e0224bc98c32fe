#!/usr/bin/env node
/**
 * Stamps one version into every package, builds the host's native binary and packs the main
 * package and each platform package whose binary is in native/ into one folder, ready for
 * `npm publish <tarball>`, platform packages first.
 *
 * Usage: node scripts/release.mjs [VERSION] [--out DIR] [--skip-build] [--no-stamp] [--all]
 *   VERSION       the version to release (default: the one in package.json)
 *   --out DIR     where the tarballs go (default: release/)
 *   --skip-build  pack the dist/ and native/ already built
 *   --no-stamp    change no file in the repository: fail unless every package has VERSION
 *   --all         fail unless every platform has its binary in native/ (the publishing job)
 *
 * The main package's optionalDependencies are written into the packed copy only: platform
 * packages listed in the repository's package.json before they are published would put the
 * lockfile out of step with it, and `npm ci` refuses that.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs'
import { rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/
const CARGO_VERSION = /(\[workspace\.package\][^[]*?\nversion = )"([^"]*)"/

function readJson(file) {
  return JSON.parse(readFileSync(file, 'utf8'))
}

function writeJson(file, value) {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`)
}

function fail(message) {
  process.stderr.write(`release: ${message}\n`)
  process.exit(1)
}

/** The platform packages: one folder of npm/ each, named for its napi-rs triple. */
function platformPackages() {
  return readdirSync(join(root, 'npm'))
    .sort()
    .map((triple) => {
      const dir = join(root, 'npm', triple)
      return { triple, dir, manifest: readJson(join(dir, 'package.json')) }
    })
}

/**
 * Sets `version` in package.json, package-lock.json, every npm/ package.json and the Cargo
 * workspace (the next cargo build carries it into Cargo.lock), or with `check` only lists
 * what differs. Returns the files that had another version.
 */
function stamp(version, platforms, check) {
  const differ = []
  for (const file of ['package.json', ...platforms.map((p) => `npm/${p.triple}/package.json`)]) {
    const manifest = readJson(join(root, file))
    if (manifest.version === version) continue
    differ.push(`${file} has ${manifest.version}`)
    if (!check) writeJson(join(root, file), { ...manifest, version })
  }

  const lockFile = join(root, 'package-lock.json')
  const lock = readJson(lockFile)
  if (lock.version !== version || lock.packages[''].version !== version) {
    differ.push(`package-lock.json has ${lock.version}`)
    lock.version = version
    lock.packages[''].version = version
    if (!check) writeJson(lockFile, lock)
  }

  const cargoFile = join(root, 'Cargo.toml')
  const cargo = readFileSync(cargoFile, 'utf8')
  const found = CARGO_VERSION.exec(cargo)
  if (!found) fail('Cargo.toml has no [workspace.package] version')
  if (found[2] !== version) {
    differ.push(`Cargo.toml has ${found[2]}`)
    if (!check) writeFileSync(cargoFile, cargo.replace(CARGO_VERSION, `$1"${version}"`))
  }
  return differ
}

/** Runs `npm pack` on `dir` into `out` and returns the tarball's path. */
function pack(dir, out) {
  const args = ['pack', dir, '--pack-destination', out, '--json', '--ignore-scripts']
  const report = JSON.parse(execFileSync('npm', args, { cwd: root, encoding: 'utf8' }))
  return join(out, report[0].filename)
}

/**
 * Lays out the main package in `stage`: the files `npm pack` would take from the repository,
 * and a package.json without what only developers use, wired to the platform packages.
 */
function stageMain(stage, version, platforms) {
  const args = ['pack', '--dry-run', '--json', '--ignore-scripts']
  const listed = JSON.parse(execFileSync('npm', args, { cwd: root, encoding: 'utf8' }))
  for (const { path } of listed[0].files) {
    mkdirSync(dirname(join(stage, path)), { recursive: true })
    copyFileSync(join(root, path), join(stage, path))
  }

  const manifest = readJson(join(root, 'package.json'))
  for (const key of ['scripts', 'devDependencies', 'ava']) delete manifest[key]
  manifest.version = version
  manifest.optionalDependencies = Object.fromEntries(
    platforms.map((p) => [p.manifest.name, version]),
  )
  writeJson(join(stage, 'package.json'), manifest)
}

/** Lays out one platform package in `stage`: its manifest, its README and its binary. */
function stagePlatform(stage, version, platform, binary) {
  mkdirSync(stage, { recursive: true })
  copyFileSync(join(platform.dir, 'README.md'), join(stage, 'README.md'))
  copyFileSync(binary, join(stage, platform.manifest.main))
  writeJson(join(stage, 'package.json'), { ...platform.manifest, version })
}

function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string', default: join(root, 'release') },
      'skip-build': { type: 'boolean', default: false },
      'no-stamp': { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
    },
  })
  if (positionals.length > 1) fail(`one version at most, got ${positionals.join(' ')}`)
  const version = positionals[0] ?? readJson(join(root, 'package.json')).version
  if (!SEMVER.test(version)) fail(`'${version}' is not a semver version such as 1.2.3`)

  const platforms = platformPackages()
  const differ = stamp(version, platforms, values['no-stamp'])
  if (values['no-stamp'] && differ.length > 0) {
    fail(`--no-stamp, but not every package has ${version}: ${differ.join(', ')}`)
  }

  if (!values['skip-build']) {
    // A fresh dist/, so that nothing a removed source file left behind is packed.
    rmSync(join(root, 'dist'), { recursive: true, force: true })
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' })
  }
  const require = createRequire(import.meta.url)
  const host = require(join(root, 'dist', 'native.js')).platformTriple()

  const out = resolve(values.out)
  const stageRoot = join(out, '.stage')
  rmSync(stageRoot, { recursive: true, force: true })
  mkdirSync(stageRoot, { recursive: true })

  const tarballs = []
  for (const platform of platforms) {
    const binary = join(root, 'native', platform.manifest.main)
    if (!existsSync(binary)) {
      const needed = values.all || platform.triple === host
      if (needed) fail(`no binary for ${platform.triple}: ${binary}`)
      process.stderr.write(`release: skipping ${platform.manifest.name}: no ${binary}\n`)
      continue
    }
    const stage = join(stageRoot, platform.triple)
    stagePlatform(stage, version, platform, binary)
    tarballs.push(pack(stage, out))
  }

  const mainStage = join(stageRoot, 'main')
  stageMain(mainStage, version, platforms)
  tarballs.push(pack(mainStage, out))
  rmSync(stageRoot, { recursive: true, force: true })

  for (const tarball of tarballs) process.stdout.write(`${tarball}\n`)
}

main()
