/**
 * Privilege: unprivileged inside `unshare -Urm` a writable overlay mounts (the package adds
 * userxattr there), and without any privilege the error says what is needed.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { containerdStore } from '../src/example/store'
import { sandbox } from './helpers/sandbox'

const dist = join(__dirname, '..', 'dist', 'index.js')

/** Runs a script that mounts `store` with the built package, as `prefix` says, and
 * returns what it printed as JSON. */
function runAs(
  prefix: string[],
  store: ReturnType<typeof containerdStore>,
): Record<string, unknown> {
  const paths = { lower: store.lower, upper: store.upper, work: store.work, target: store.target }
  const script = `
    const o = require(${JSON.stringify(dist)})
    const store = ${JSON.stringify(paths)}
    o.mount(store).then(
      async (m) => {
        const entry = await o.findMount(store.target)
        const options = entry.superOptions.map((x) => x.key)
        await m.unmount()
        const userns = o.probeSync().userNamespace
        console.log(JSON.stringify({ ok: true, strategy: m.strategy, options, userns }))
      },
      (e) => console.log(JSON.stringify({ ok: false, code: e.code, message: e.message })))
  `
  const out = execFileSync(prefix[0], [...prefix.slice(1), process.execPath, '-e', script], {
    encoding: 'utf8',
  })
  return JSON.parse(out.trim().split('\n').pop() ?? '{}')
}

test('inside unshare -Urm a writable overlay mounts, with userxattr added', (t) => {
  const store = containerdStore(sandbox(t, 'userns'), 3)
  const result = runAs(['unshare', '-Urm'], store)
  t.like(result, { ok: true, userns: true })
  t.true((result.options as string[]).includes('userxattr'), JSON.stringify(result))
})

test('without privilege the error is EPERM and says what is needed', (t) => {
  const dir = sandbox(t, 'noprivilege')
  chmodSync(dir, 0o755)
  const store = containerdStore(dir, 2)
  const result = runAs(['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], store)
  t.like(result, { ok: false, code: 'EPERM' })
  t.regex(result.message as string, /CAP_SYS_ADMIN/)
  t.regex(result.message as string, /unshare -Urm/)
})
