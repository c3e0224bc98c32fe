/**
 * The README's reference is checked against the package itself: every export, every error
 * code and every CLI command must be documented there.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import * as api from '../src'

const root = join(__dirname, '..')
const readme = readFileSync(join(root, 'README.md'), 'utf8')

/** Every name `src/index.ts` exports, values and types alike. */
function exportedNames(): string[] {
  const index = readFileSync(join(root, 'src', 'index.ts'), 'utf8')
  const names: string[] = []
  for (const [, list] of index.matchAll(/export (?:type )?\{([^}]*)\}/g)) {
    for (const item of list.split(',')) {
      const name = item.trim().split(/\s+as\s+/).pop()
      if (name) names.push(name)
    }
  }
  return names
}

test('every export of the package is documented in the README', (t) => {
  const names = exportedNames()
  t.true(names.length >= 20, names.join(', '))
  for (const name of Object.keys(api)) t.true(names.includes(name), `${name} is not in index.ts`)
  const missing = names.filter((name) => !readme.includes(`\`${name}`))
  t.deepEqual(missing, [])
})

test('every error code is in the README', (t) => {
  const missing = Object.values(api.ErrorCodes).filter((code) => !readme.includes(`\`${code}\``))
  t.deepEqual(missing, [])
})

test('every strategy is in the README', (t) => {
  const missing = api.STRATEGIES.filter((s) => !readme.includes(`| \`${s}\` |`))
  t.deepEqual(missing, [])
})

test('every CLI command of --help is in the README', (t) => {
  const help = execFileSync(process.execPath, [join(root, 'dist', 'cli.js'), '--help'], {
    encoding: 'utf8',
  })
  const commands = [...help.matchAll(/^ {2}(\w+) {2,}/gm)].map((m) => m[1])
  t.deepEqual(commands, ['mount', 'umount', 'plan', 'probe'])
  for (const command of commands) t.true(readme.includes(`overlayfs ${command}`), command)
})
