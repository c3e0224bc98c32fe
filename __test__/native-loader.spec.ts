/**
 * The loader's choice of binary and its errors where none fits, run with made-up hosts so
 * that the real load of this process is left alone, and once in a child process whose
 * `process.platform` is patched, through the built package.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'

import test from 'ava'

import { ErrorCodes, OverlayError } from '../src'
import { PREBUILT_TRIPLES, loadNative, platformTriple } from '../src/native'

// A path here would be loaded whatever the host: these tests are about the search after it.
delete process.env.OVERLAYFS_NATIVE_PATH

const repo = join(__dirname, '..')

test('the host triple is one of the prebuilt ones, and its binary loads', (t) => {
  t.true((PREBUILT_TRIPLES as readonly string[]).includes(platformTriple()))
  t.is(typeof loadNative().probeSync().pageSize, 'number')
})

test('triples name the C library on Linux only', (t) => {
  t.is(platformTriple({ platform: 'linux', arch: 'arm64', libc: 'musl' }), 'linux-arm64-musl')
  t.is(platformTriple({ platform: 'darwin', arch: 'arm64' }), 'darwin-arm64')
})

test('elsewhere than Linux, the error says the package is Linux-only and names it', (t) => {
  const err = t.throws(() => loadNative({ platform: 'darwin', arch: 'arm64' }), {
    instanceOf: OverlayError,
  })
  t.is(err?.code, ErrorCodes.UNSUPPORTED_PLATFORM)
  t.regex(err?.message ?? '', /works on Linux only .*this is darwin-arm64$/)
})

test('a Linux triple without a prebuilt package is named, with the ones that exist', (t) => {
  const err = t.throws(() => loadNative({ platform: 'linux', arch: 'riscv64', libc: 'gnu' }), {
    instanceOf: OverlayError,
  })
  t.is(err?.code, ErrorCodes.UNSUPPORTED_PLATFORM)
  t.regex(err?.message ?? '', /no native binary for linux-riscv64-gnu: no package is built/)
  for (const triple of PREBUILT_TRIPLES) t.true(err?.message.includes(triple), triple)
  t.regex(err?.message ?? '', /OVERLAYFS_NATIVE_PATH/)
})

test('a prebuilt triple whose package is not installed says which package to install', (t) => {
  const other = platformTriple().endsWith('-musl') ? 'gnu' : 'musl'
  const host = { platform: 'linux', arch: 'arm64', libc: other } as const
  const triple = platformTriple(host)
  const err = t.throws(() => loadNative(host), { instanceOf: OverlayError })
  t.is(err?.code, ErrorCodes.UNSUPPORTED_PLATFORM)
  t.is(
    err?.message,
    `overlayfs has no native binary for ${triple}: its package overlayfs-${triple} is not ` +
      'installed; reinstall without --omit=optional',
  )
  t.is((err?.cause as { code?: string }).code, 'MODULE_NOT_FOUND')
})

test('OVERLAYFS_NATIVE_PATH naming no file is an error that names the path', (t) => {
  process.env.OVERLAYFS_NATIVE_PATH = join(repo, 'no-such.node')
  try {
    const err = t.throws(() => loadNative(), { instanceOf: OverlayError })
    t.is(err?.code, ErrorCodes.UNSUPPORTED_PLATFORM)
    t.is(err?.message, `OVERLAYFS_NATIVE_PATH names '${repo}/no-such.node', which does not exist`)
  } finally {
    delete process.env.OVERLAYFS_NATIVE_PATH
  }
})

test('the built package, loaded on a patched win32, fails with the Linux-only error', (t) => {
  const script = [
    "Object.defineProperty(process, 'platform', { value: 'win32' })",
    `const overlayfs = require(${JSON.stringify(repo)})`,
    'try { overlayfs.probeSync() } catch (err) { console.log(JSON.stringify(err)); ' +
      'console.log(err.message); process.exit(3) }',
  ].join('\n')
  const env = { ...process.env, OVERLAYFS_NATIVE_PATH: '' }
  const run = spawnSync(process.execPath, ['-e', script], { env, encoding: 'utf8' })
  t.is(run.status, 3, run.stderr)
  const [fields, message] = run.stdout.trim().split('\n')
  t.is(JSON.parse(fields ?? '{}').code, ErrorCodes.UNSUPPORTED_PLATFORM)
  const linuxOnly = 'overlayfs works on Linux only (OverlayFS is a Linux filesystem)'
  t.is(message, `${linuxOnly}; this is win32-${process.arch}`)
})
