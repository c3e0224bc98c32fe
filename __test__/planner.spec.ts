/**
 * Table tests of the planner at its exact boundaries, for the running kernel's features with
 * 4 KiB and 64 KiB pages and for older kernels. The planner is pure: nothing here mounts,
 * and no path here exists.
 */
import test from 'ava'
import type { ExecutionContext } from 'ava'

import { ErrorCodes, OverlayError, plan, probeSync } from '../src'
import type { Features, MountOptions, Plan, Rejection, Strategy } from '../src'

const PAGES = [4096, 65536]

/** The running kernel's features with `overrides`; never in a user namespace. */
function kernel(overrides: Partial<Features>): Features {
  return { ...probeSync(), userNamespace: false, ...overrides }
}

/** A kernel with file-descriptor layers (Linux 6.13+). */
const modern = (pageSize: number) =>
  kernel({
    pageSize,
    release: '6.15.0-test',
    newMountApi: true,
    lowerdirPlus: true,
    fdLayers: true,
    oPathFds: true,
  })
/** A kernel with the new mount API but no `lowerdir+` (Linux 5.2 to 6.7). */
const noLowerdirPlus = (pageSize: number) =>
  kernel({
    pageSize,
    release: '6.1.0-test',
    newMountApi: true,
    lowerdirPlus: false,
    fdLayers: false,
    oPathFds: false,
  })
/** A kernel with `lowerdir+` by string but no descriptor layers (Linux 6.8 to 6.12). */
const stringsOnly = (pageSize: number) =>
  kernel({
    pageSize,
    release: '6.8.0-test',
    newMountApi: true,
    lowerdirPlus: true,
    fdLayers: false,
    oPathFds: false,
  })
/** A kernel without the new mount API (before Linux 5.2). */
const legacyOnly = (pageSize: number) =>
  kernel({
    pageSize,
    release: '5.1.0-test',
    newMountApi: false,
    lowerdirPlus: false,
    fdLayers: false,
    oPathFds: false,
  })

const NO_FD_LAYERS: Rejection = {
  strategy: 'fd',
  code: ErrorCodes.UNSUPPORTED,
  reason: 'kernel 6.8.0-test has no file-descriptor layers (Linux 6.13+)',
}
const NO_NEW_API: Rejection[] = [
  {
    strategy: 'fd',
    code: ErrorCodes.UNSUPPORTED,
    reason: 'kernel 5.1.0-test has no new mount API (Linux 5.2+)',
  },
  {
    strategy: 'lowerdir+',
    code: ErrorCodes.UNSUPPORTED,
    reason: 'kernel 5.1.0-test has no fsconfig lowerdir+ (Linux 6.8+)',
  },
]

const BASE = '/s'
const TARGET = '/t'

/**
 * `n` lower layers `/s/<i>-xxx...` whose `:`-joined list is exactly `joined` bytes long, so
 * that `lowerdir=` data with absolute paths is 9 bytes more, and with paths relative to `/s`
 * it is `3n` bytes less.
 */
function joinedLayers(n: number, joined: number): string[] {
  const heads = Array.from({ length: n }, (_, i) => `${BASE}/${i}-`)
  let rest = joined - (n - 1) - heads.reduce((sum, h) => sum + h.length, 0)
  if (rest < 0) throw new Error(`${n} layers need more than ${joined} bytes`)
  return heads.map((head, i) => {
    const k = Math.floor(rest / (n - i))
    rest -= k
    return head + 'x'.repeat(k)
  })
}

/** Read-only options whose absolute legacy data is exactly `bytes` long. */
function absoluteOf(bytes: number, n = 100): MountOptions {
  return { lower: joinedLayers(n, bytes - 'lowerdir='.length), target: TARGET }
}

/** Read-only options whose legacy data relative to `/s` is exactly `bytes` long. */
function relativeOf(bytes: number, n = 100): MountOptions {
  return { lower: joinedLayers(n, bytes - 'lowerdir='.length + 3 * n), target: TARGET }
}

/** Asserts a plan's strategy, its rejections in order, and its data bytes where given. */
function assertPlan(
  t: ExecutionContext,
  p: Plan,
  strategy: Strategy,
  rejected: Rejection[],
  dataBytes?: number,
): void {
  t.is(p.strategy, strategy)
  t.deepEqual(p.rejected, rejected)
  if (dataBytes !== undefined) t.is(p.dataBytes, dataBytes)
  if (p.data !== null) t.is(Buffer.byteLength(p.data), p.dataBytes)
  if (strategy === 'absolute' || strategy === 'relative') t.true(p.dataBytes < p.pageSize)
}

/** Asserts that `fn` throws an `OverlayError` with `code` and exactly `message`. */
function assertThrows(
  t: ExecutionContext,
  fn: () => unknown,
  code: string,
  message: string,
): OverlayError | undefined {
  const err = t.throws(fn, { instanceOf: OverlayError })
  t.is(err?.code, code)
  t.is(err?.message, message)
  return err
}

const tooLong = (strategy: Strategy, bytes: number, page: number, what = 'data'): Rejection => ({
  strategy,
  code: ErrorCodes.DATA_TOO_LONG,
  reason: `${what} ${bytes} bytes >= page ${page}`,
})

for (const page of PAGES) {
  test(`page ${page}: the layer builders are exact`, (t) => {
    const abs = plan({ ...absoluteOf(page), strategy: 'absolute' }, legacyOnly(2 ** 30))
    t.is(abs.dataBytes, page)
    const rel = plan({ ...relativeOf(page), strategy: 'relative' }, legacyOnly(2 ** 30))
    t.is(rel.dataBytes, page)
    t.is(rel.cwd, BASE)
  })

  test(`page ${page}: auto takes fd on a kernel with descriptor layers, at any size`, (t) => {
    for (const bytes of [page - 1, page, 4 * page]) {
      const p = plan(absoluteOf(bytes), modern(page))
      assertPlan(t, p, 'fd', [], 0)
      t.is(p.cwd, null)
      t.is(p.data, null)
      t.is(p.pageSize, page)
      t.is(p.layers, 100)
      t.deepEqual(p.lower, absoluteOf(bytes).lower)
    }
  })

  test(`page ${page}, no new mount API: absolute up to page - 1 bytes`, (t) => {
    for (const bytes of [page - 2, page - 1]) {
      const p = plan(absoluteOf(bytes), legacyOnly(page))
      assertPlan(t, p, 'absolute', NO_NEW_API, bytes)
      t.is(p.cwd, null)
      t.is(p.data, `lowerdir=${absoluteOf(bytes).lower.join(':')}`)
    }
  })

  test(`page ${page}, no new mount API: absolute at page size falls to relative`, (t) => {
    for (const bytes of [page, page + 1]) {
      const options = absoluteOf(bytes)
      const p = plan(options, legacyOnly(page))
      assertPlan(t, p, 'relative', [...NO_NEW_API, tooLong('absolute', bytes, page)], bytes - 300)
      t.is(p.cwd, BASE)
      t.deepEqual(p.lower, options.lower.map((l) => l.slice(BASE.length + 1)))
    }
  })

  test(`page ${page}, no new mount API: relative up to page - 1, then procfd`, (t) => {
    for (const bytes of [page - 2, page - 1]) {
      const p = plan(relativeOf(bytes), legacyOnly(page))
      assertPlan(t, p, 'relative', [...NO_NEW_API, tooLong('absolute', bytes + 300, page)], bytes)
    }
    for (const bytes of [page, page + 1]) {
      const p = plan(relativeOf(bytes), legacyOnly(page))
      const rejected = [
        ...NO_NEW_API,
        tooLong('absolute', bytes + 300, page),
        tooLong('relative', bytes, page),
      ]
      // procfd: `lowerdir=` and 100 descriptors of 7 digits with 99 colons.
      assertPlan(t, p, 'procfd', rejected, 9 + 100 * 7 + 99)
      t.is(p.cwd, null)
      t.deepEqual(p.lower, relativeOf(bytes).lower)
    }
  })

  test(`page ${page}: forced absolute and relative refuse page size bytes, with numbers`, (t) => {
    for (const [strategy, of] of [
      ['absolute', absoluteOf],
      ['relative', relativeOf],
    ] as const) {
      for (const f of [modern(page), stringsOnly(page), legacyOnly(page)]) {
        const fits = plan({ ...of(page - 1), strategy }, f)
        assertPlan(t, fits, strategy, [], page - 1)
        t.is(fits.reason, 'asked for')
        for (const bytes of [page, page + 1]) {
          const why = `data ${bytes} bytes >= page ${page}`
          const err = assertThrows(
            t,
            () => plan({ ...of(bytes), strategy }, f),
            ErrorCodes.DATA_TOO_LONG,
            `strategy ${strategy} cannot mount this: ${why}`,
          )
          t.is(err?.bytes, bytes)
          t.is(err?.pageSize, page)
          t.is(err?.strategy, strategy)
        }
      }
    }
  })

  test(`page ${page}: bytes are counted, not characters`, (t) => {
    // 'é' is two bytes: one fewer character than page size still makes page size bytes.
    const options = absoluteOf(page - 1)
    options.lower[0] = options.lower[0].slice(0, -1) + 'é'
    t.is(options.lower.join(':').length + 9, page - 1)
    const p = plan(options, legacyOnly(page))
    t.is(p.strategy, 'relative')
    t.deepEqual(p.rejected[2], tooLong('absolute', page, page))
  })

  test(`page ${page}: escaped colons are counted`, (t) => {
    // A ':' in a path is sent as '\:', one byte more than the path.
    const options = absoluteOf(page - 1)
    options.lower[0] = options.lower[0].slice(0, -1) + ':'
    const p = plan(options, legacyOnly(page))
    t.is(p.strategy, 'relative')
    t.deepEqual(p.rejected[2], tooLong('absolute', page, page))
    t.is(p.lower[0], options.lower[0].slice(BASE.length + 1))
  })

  test(`page ${page}: upper, work and options are counted, commas included`, (t) => {
    const upper = '/u'
    const work = '/w'
    // `,upperdir=/u` is 12 bytes, `,workdir=/w` 11 and `,index=off` 10.
    const extra = 12 + 11 + 10
    for (const bytes of [page - 1, page]) {
      const options = { ...absoluteOf(bytes - extra), upper, work, options: ['index=off'] }
      const p = plan(options, legacyOnly(page))
      if (bytes < page) {
        assertPlan(t, p, 'absolute', NO_NEW_API, bytes)
        t.true(p.data?.endsWith(',upperdir=/u,workdir=/w,index=off'))
      } else {
        t.is(p.strategy, 'relative')
        t.deepEqual(p.rejected[2], tooLong('absolute', bytes, page))
        t.is(p.upper, upper)
        t.is(p.work, work)
      }
    }
  })

  test(`page ${page}, lowerdir+ without fd layers: every value up to 255 bytes`, (t) => {
    const lower = ['/a', `/${'v'.repeat(254)}`]
    const p = plan({ lower, target: TARGET }, stringsOnly(page))
    assertPlan(t, p, 'lowerdir+', [NO_FD_LAYERS], 0)
    t.is(p.valueBytes, 255)
    t.is(p.cwd, null)
    t.deepEqual(p.lower, lower)
    t.is(p.data, null)
  })

  test(`page ${page}, lowerdir+ without fd layers: over 255 bytes go relative`, (t) => {
    for (const n of [253, 255]) {
      // n + 3 bytes absolute, n relative to /s: still lowerdir+, from /s.
      const lower = [`${BASE}/b`, `${BASE}/${'v'.repeat(n)}`]
      const p = plan({ lower, target: TARGET }, stringsOnly(page))
      assertPlan(t, p, 'lowerdir+', [NO_FD_LAYERS], 0)
      t.is(p.valueBytes, n)
      t.is(p.cwd, BASE)
      t.deepEqual(p.lower, ['b', 'v'.repeat(n)])
      t.deepEqual(p.request.lower, p.lower)
      t.is(p.request.cwd, BASE)
    }
  })

  test(`page ${page}, lowerdir+ without fd layers: 256 bytes even relative go legacy`, (t) => {
    const lower = [`${BASE}/${'v'.repeat(256)}`, `${BASE}/b`]
    const valueTooLong: Rejection = {
      strategy: 'lowerdir+',
      code: ErrorCodes.VALUE_TOO_LONG,
      reason: `lower[0] path 256 bytes > 255 even relative to '${BASE}'`,
    }
    const p = plan({ lower, target: TARGET }, stringsOnly(page))
    assertPlan(t, p, 'absolute', [NO_FD_LAYERS, valueTooLong], 9 + 259 + 1 + 4)

    // The same value in a layer set over one page: on past absolute to relative.
    const big = absoluteOf(page, 400)
    big.lower.push(`${BASE}/z-${'v'.repeat(255)}`)
    const rel = plan(big, stringsOnly(page))
    t.is(rel.strategy, 'relative')
    t.deepEqual(rel.rejected.slice(0, 2), [
      NO_FD_LAYERS,
      { ...valueTooLong, reason: `lower[400] path 257 bytes > 255 even relative to '${BASE}'` },
    ])
    t.is(rel.rejected[2].strategy, 'absolute')
    t.is(rel.rejected[2].code, ErrorCodes.DATA_TOO_LONG)

    const forced = assertThrows(
      t,
      () => plan({ lower, target: TARGET, strategy: 'lowerdir+' }, stringsOnly(page)),
      ErrorCodes.VALUE_TOO_LONG,
      `strategy lowerdir+ cannot mount this: ${valueTooLong.reason}`,
    )
    t.is(forced?.bytes, 256)
    t.is(forced?.limit, 255)
  })

  test(`page ${page}, lowerdir+ without fd layers: upper counts its escapes`, (t) => {
    // A backslash in upper is sent as two bytes: 254 bytes with one is a 255-byte value.
    const lower = [`${BASE}/a`]
    const fits = `/u\\${'v'.repeat(251)}`
    t.is(Buffer.byteLength(fits), 254)
    const p = plan({ lower, upper: fits, work: '/w', target: TARGET }, stringsOnly(page))
    assertPlan(t, p, 'lowerdir+', [NO_FD_LAYERS], 0)
    t.is(p.valueBytes, 255)

    const over = `/u\\${'v'.repeat(252)}`
    const q = plan({ lower, upper: over, work: '/w', target: TARGET }, stringsOnly(page))
    t.is(q.strategy, 'absolute')
    t.deepEqual(q.rejected[1], {
      strategy: 'lowerdir+',
      code: ErrorCodes.VALUE_TOO_LONG,
      reason: `upper path 256 bytes > 255 even relative to '${BASE}'`,
    })
  })

  test(`page ${page}: forcing a strategy the kernel lacks is refused`, (t) => {
    const options = absoluteOf(200, 3)
    const cases: [Features, Strategy, string][] = [
      [legacyOnly(page), 'fd', 'kernel 5.1.0-test has no new mount API (Linux 5.2+)'],
      [legacyOnly(page), 'lowerdir+', 'kernel 5.1.0-test has no fsconfig lowerdir+ (Linux 6.8+)'],
      [stringsOnly(page), 'fd', 'kernel 6.8.0-test has no file-descriptor layers (Linux 6.13+)'],
    ]
    for (const [f, strategy, reason] of cases) {
      const err = assertThrows(
        t,
        () => plan({ ...options, strategy }, f),
        ErrorCodes.UNSUPPORTED,
        `strategy ${strategy} cannot mount this: ${reason}`,
      )
      t.is(err?.strategy, strategy)
    }
    t.is(plan({ ...options, strategy: 'lowerdir+' }, stringsOnly(page)).strategy, 'lowerdir+')
    t.is(plan({ ...options, strategy: 'procfd' }, legacyOnly(page)).strategy, 'procfd')
  })

  test(`page ${page}, new mount API without lowerdir+: auto takes the legacy ones`, (t) => {
    const f = noLowerdirPlus(page)
    const missing: Rejection[] = [
      {
        strategy: 'fd',
        code: ErrorCodes.UNSUPPORTED,
        reason: 'kernel 6.1.0-test has no file-descriptor layers (Linux 6.13+)',
      },
      {
        strategy: 'lowerdir+',
        code: ErrorCodes.UNSUPPORTED,
        reason: 'kernel 6.1.0-test has no fsconfig lowerdir+ (Linux 6.8+)',
      },
    ]
    assertPlan(t, plan(absoluteOf(page - 1), f), 'absolute', missing, page - 1)
    const rel = plan(absoluteOf(page), f)
    assertPlan(t, rel, 'relative', [...missing, tooLong('absolute', page, page)], page - 300)
    for (const { strategy, reason } of missing) {
      assertThrows(
        t,
        () => plan({ ...absoluteOf(200, 3), strategy }, f),
        ErrorCodes.UNSUPPORTED,
        `strategy ${strategy} cannot mount this: ${reason}`,
      )
    }
  })
}

/**
 * procfd at a 4 KiB page: 500 layers of 7-digit descriptors are 4008 bytes; upper and work
 * go by path, so their lengths set the rest to the byte.
 */
function procfdOf(bytes: number): MountOptions {
  const rest = bytes - (9 + 500 * 8 - 1) - ',upperdir='.length - ',workdir='.length
  const half = Math.floor(rest / 2)
  return {
    lower: Array.from({ length: 500 }, (_, i) => `${BASE}/${i}-layer`),
    upper: `/${'u'.repeat(half - 1)}`,
    work: `/${'w'.repeat(rest - half - 1)}`,
    target: TARGET,
  }
}

test('page 4096, no new mount API: procfd up to page - 1 bytes, then no strategy', (t) => {
  const f = legacyOnly(4096)
  for (const bytes of [4094, 4095]) {
    const p = plan(procfdOf(bytes), f)
    t.is(p.strategy, 'procfd')
    t.is(p.dataBytes, bytes)
    t.deepEqual(p.rejected.map((r) => [r.strategy, r.code]), [
      ['fd', ErrorCodes.UNSUPPORTED],
      ['lowerdir+', ErrorCodes.UNSUPPORTED],
      ['absolute', ErrorCodes.DATA_TOO_LONG],
      ['relative', ErrorCodes.DATA_TOO_LONG],
    ])
  }
  for (const bytes of [4096, 4097]) {
    const options = procfdOf(bytes)
    const abs = plan({ ...options, strategy: 'absolute' }, legacyOnly(2 ** 30)).dataBytes
    const rel = plan({ ...options, strategy: 'relative' }, legacyOnly(2 ** 30)).dataBytes
    const reasons = [
      `fd: ${NO_NEW_API[0].reason}`,
      `lowerdir+: ${NO_NEW_API[1].reason}`,
      `absolute: data ${abs} bytes >= page 4096`,
      `relative: data ${rel} bytes >= page 4096`,
      `procfd: data with 7-digit fds ${bytes} bytes >= page 4096`,
    ]
    assertThrows(
      t,
      () => plan(options, f),
      ErrorCodes.NO_STRATEGY,
      `no strategy can mount this on kernel 5.1.0-test: ${reasons.join('; ')}`,
    )
    const err = assertThrows(
      t,
      () => plan({ ...options, strategy: 'procfd' }, f),
      ErrorCodes.DATA_TOO_LONG,
      `strategy procfd cannot mount this: data with 7-digit fds ${bytes} bytes >= page 4096`,
    )
    t.is(err?.bytes, bytes)
    t.is(err?.pageSize, 4096)
  }
})

test('page 65536: procfd carries 500 layers with room to spare', (t) => {
  const p = plan(procfdOf(4096), legacyOnly(65536))
  t.is(p.strategy, 'absolute')
  const q = plan({ ...procfdOf(4096), strategy: 'procfd' }, legacyOnly(65536))
  t.is(q.dataBytes, 4096)
})

test('the layer limit comes from the features and counts data-only layers', (t) => {
  const lower = Array.from({ length: 400 }, (_, i) => `${BASE}/${i}`)
  const data = Array.from({ length: 100 }, (_, i) => `/d/${i}`)
  for (const f of [modern(4096), stringsOnly(4096), legacyOnly(65536)]) {
    t.is(plan({ lower, data, target: TARGET }, f).layers, 500)
    const err = assertThrows(
      t,
      () => plan({ lower, data: [...data, '/d/x'], target: TARGET }, f),
      ErrorCodes.TOO_MANY_LAYERS,
      "501 lower layers requested, more than the kernel's limit of 500",
    )
    t.is(err?.limit, 500)
    t.is(err?.count, 501)
  }
})
