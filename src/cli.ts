#!/usr/bin/env node
/**
 * The `overlayfs` command: mount, umount, plan and probe. The only part of the package that
 * prints. Exit codes: 0 success, 1 the operation failed, 2 the command line is wrong.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

import { OverlayError, mount, plan, probe, unmount } from './index'
import type { MountOptions, Plan, Strategy } from './index'

const USAGE: Record<string, string> = {
  main: `Usage: overlayfs <command> [options]

Commands:
  mount   Mount an overlay:           overlayfs mount --lower DIR... [--upper DIR --work DIR] TARGET
  umount  Unmount it:                 overlayfs umount [--detach] TARGET
  plan    Show how it would be mounted, and why, without mounting
  probe   Show what the running kernel supports

Every command takes --json for machine-readable output and --help for its own options.
Exit codes: 0 success, 1 the operation failed (the error's code is printed), 2 bad usage.`,
  mount: `Usage: overlayfs mount [options] TARGET

  --lower DIR          a lower layer; repeat it, top-most first
  --lower-file FILE    read lower layers from FILE, one per line, top-most first
  --data DIR           a data-only lower layer (repeatable)
  --upper DIR          the writable layer (needs --work)
  --work DIR           an empty directory on the same filesystem as --upper
  --strategy NAME      auto (default), fd, lowerdir+, absolute, relative or procfd
  -o, --option OPT     an extra overlay option such as index=off (repeatable)
  --no-userxattr       do not add userxattr in a user namespace
  --allow-stacking     mount even if TARGET is already a mount point
  --json               print the result as JSON`,
  umount: `Usage: overlayfs umount [--detach] [--json] TARGET

  --detach             detach lazily (MNT_DETACH), even if the mount is busy
  --json               print the result as JSON`,
  probe: `Usage: overlayfs probe [--json]`,
}
USAGE.plan = USAGE.mount.replace('overlayfs mount', 'overlayfs plan')

class UsageError extends Error {}

const yes = (flag: boolean) => (flag ? 'yes' : 'no')

const MOUNT_FLAGS = {
  lower: { type: 'string', multiple: true },
  'lower-file': { type: 'string' },
  data: { type: 'string', multiple: true },
  upper: { type: 'string' },
  work: { type: 'string' },
  strategy: { type: 'string' },
  option: { type: 'string', short: 'o', multiple: true },
  'no-userxattr': { type: 'boolean' },
  'allow-stacking': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

function mountOptions(args: string[]): { options: MountOptions; json: boolean; help: boolean } {
  const { values, positionals } = parseArgs({ args, options: MOUNT_FLAGS, allowPositionals: true })
  if (values.help) return { options: { lower: [], target: '' }, json: false, help: true }
  if (positionals.length !== 1) throw new UsageError('give exactly one TARGET')
  const lower = [...(values.lower ?? [])]
  if (values['lower-file']) {
    const text = readFileSync(values['lower-file'], 'utf8')
    lower.push(...text.split('\n').filter((line) => line !== ''))
  }
  const options: MountOptions = {
    lower,
    target: positionals[0],
    data: values.data,
    upper: values.upper,
    work: values.work,
    strategy: values.strategy as Strategy | 'auto' | undefined,
    options: values.option,
    userxattr: values['no-userxattr'] ? false : undefined,
    allowStacking: values['allow-stacking'],
  }
  return { options, json: Boolean(values.json), help: false }
}

function describePlan(p: Plan): string {
  const lines = [`strategy: ${p.strategy} (${p.reason})`]
  for (const r of p.rejected) lines.push(`  ruled out ${r.strategy}: ${r.reason}`)
  lines.push(`layers: ${p.layers}`)
  if (p.cwd) lines.push(`mount thread enters: ${p.cwd}`)
  if (p.data !== null) lines.push(`mount data: ${p.dataBytes} bytes of a ${p.pageSize}-byte page`)
  if (p.valueBytes > 0) lines.push(`longest fsconfig value: ${p.valueBytes} bytes`)
  if (p.options.length > 0) lines.push(`options: ${p.options.join(',')}`)
  return lines.join('\n')
}

function planJson(p: Plan): object {
  const { request: _request, ...rest } = p
  return rest
}

async function run(argv: string[]): Promise<void> {
  const [command, ...args] = argv
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE.main)
    return
  }
  if (!(command in USAGE) || command === 'main')
    throw new UsageError(`unknown command '${command}'`)

  if (command === 'probe') {
    const { values } = parseArgs({
      args,
      options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    })
    if (values.help) return void console.log(USAGE.probe)
    const f = await probe()
    if (values.json) return void console.log(JSON.stringify(f, null, 2))
    console.log(
      `kernel ${f.release}, page size ${f.pageSize} bytes, up to ${f.maxLowerLayers} lower layers`,
    )
    console.log(`new mount API: ${f.newMountApi ? 'yes' : 'no'}`)
    console.log(
      `lowerdir+ (6.8+): ${yes(f.lowerdirPlus)}, values up to ${f.fsconfigValueMax} bytes`,
    )
    console.log(
      `file-descriptor layers (6.13+): ${yes(f.fdLayers)}; O_PATH (6.15+): ${yes(f.oPathFds)}`,
    )
    console.log(`in-use check by listmount/statmount (6.11+): ${yes(f.statmount)}`)
    console.log(
      `user namespace: ${f.userNamespace ? 'yes (userxattr is added for writable mounts)' : 'no'}`,
    )
    for (const note of f.notes) console.log(`note: ${note}`)
    return
  }

  if (command === 'umount') {
    const { values, positionals } = parseArgs({
      args,
      options: {
        detach: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    })
    if (values.help) return void console.log(USAGE.umount)
    if (positionals.length !== 1) throw new UsageError('give exactly one TARGET')
    await unmount(positionals[0], { detach: values.detach })
    if (values.json) console.log(JSON.stringify({ target: positionals[0], unmounted: true }))
    else console.log(`unmounted ${positionals[0]}`)
    return
  }

  const { options, json, help } = mountOptions(args)
  if (help) return void console.log(USAGE[command])
  if (command === 'plan') {
    const p = plan(options)
    console.log(json ? JSON.stringify(planJson(p), null, 2) : describePlan(p))
    return
  }
  const m = await mount(options)
  if (json) console.log(JSON.stringify(planJson(m.plan), null, 2))
  else console.log(`mounted ${m.target}\n${describePlan(m.plan)}`)
}

function fail(err: unknown, json: boolean): number {
  const usage =
    err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
  const e = err as OverlayError
  if (json) {
    const { code, message, errno, syscall, path } = e
    console.log(
      JSON.stringify({
        error: { code: usage ? 'ERR_USAGE' : code, message, errno, syscall, path },
      }),
    )
  } else {
    console.error(`overlayfs: ${e.message}${usage ? '\n(see overlayfs --help)' : ''}`)
    if (!usage && e.code) console.error(`code: ${e.code}`)
  }
  return usage ? 2 : 1
}

const argv = process.argv.slice(2)
run(argv).then(
  () => {},
  (err) => {
    process.exitCode = fail(err, argv.includes('--json'))
  },
)
