/**
 * The platform packages in npm/ against the loader and the main package: one package per
 * prebuilt triple, each claiming exactly its OS, CPU and C library, all at one version.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { PREBUILT_TRIPLES } from '../src/native'

const repo = join(__dirname, '..')
const read = (file: string) => JSON.parse(readFileSync(join(repo, file), 'utf8'))
const main = read('package.json')

/** The Rust target each npm CPU and C library is built for. */
const RUST_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64' }

test('npm/ holds one package for each triple the loader knows', (t) => {
  t.deepEqual(readdirSync(join(repo, 'npm')).sort(), [...PREBUILT_TRIPLES].sort())
})

for (const triple of PREBUILT_TRIPLES) {
  test(`${triple}: name, platform fields and binary match the triple`, (t) => {
    const pkg = read(`npm/${triple}/package.json`)
    const [os, cpu, abi] = triple.split('-') as [string, string, string]
    t.is(pkg.name, `overlayfs-${triple}`)
    t.deepEqual(pkg.os, [os])
    t.deepEqual(pkg.cpu, [cpu])
    t.deepEqual(pkg.libc, [abi === 'gnu' ? 'glibc' : 'musl'])
    t.is(pkg.main, `overlayfs.${triple}.node`)
    t.deepEqual(pkg.files, [pkg.main])
    t.is(pkg.version, main.version, 'the release script stamps one version everywhere')
    t.is(pkg.license, main.license)
    t.true(main.napi.targets.includes(`${RUST_ARCH[cpu]}-unknown-linux-${abi}`))
  })
}

test('the main package needs nothing at run time and maps both module systems', (t) => {
  t.deepEqual(main.dependencies ?? {}, {})
  t.is(main.exports['.'].require.default, `./${main.main}`)
  t.is(main.exports['.'].require.types, `./${main.types}`)
  t.deepEqual(Object.keys(main.exports['.']), ['import', 'require'])
  t.is(read('package-lock.json').version, main.version)
})
