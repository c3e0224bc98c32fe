/**
 * C10: busy unmounts, stacked mounts and retries. A busy unmount says EBUSY and detach
 * removes the mount at once; a mount onto a mount point is refused unless asked for; a
 * failed mount leaves nothing behind, so that a retry mounts exactly one overlay.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs'
import { rmdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { ErrorCodes, OverlayError, STRATEGIES, findMount, isMounted, mount, unmount } from '../src'
import { containerdStore } from '../src/example/store'
import { overlaysAt } from './helpers/mountinfo-raw'
import { sandbox } from './helpers/sandbox'

test('a busy unmount rejects with EBUSY; detach removes the mount at once', async (t) => {
  const store = containerdStore(sandbox(t), 3)
  const m = await mount(store)
  const fd = openSync(join(store.target, store.markers[0]), 'r')
  t.teardown(() => closeSync(fd))

  const err = (await t.throwsAsync(m.unmount(), { instanceOf: OverlayError })) as OverlayError
  t.is(err.code, 'EBUSY')
  t.is(err.errno, -16)
  t.is(err.syscall, 'umount2')
  t.is(err.path, store.target)
  t.is(
    err.message,
    `unmount '${store.target}': EBUSY: Device or resource busy, umount2 '${store.target}' ` +
      '(the mount is in use; detach unmounts it lazily)',
  )
  t.true(await isMounted(store.target))
  t.is(overlaysAt(store.target).length, 1)

  await m.unmount({ detach: true })
  t.false(await isMounted(store.target))
  t.is(overlaysAt(store.target).length, 0)
  // The open file still reads from the detached overlay.
  t.is(readFileSync(fd, 'utf8'), `${store.lower[0]}\n`)
  t.deepEqual(readdirSync(store.target), [])
})

for (const strategy of STRATEGIES) {
  test(`${strategy}: mounting onto a mount point needs allowStacking`, async (t) => {
    const dir = sandbox(t)
    const bottom = containerdStore(join(dir, 'bottom'), 2)
    const top = containerdStore(join(dir, 'top'), 3)
    const target = bottom.target
    const first = await mount({ ...bottom, strategy })

    const refused = (await t.throwsAsync(mount({ ...top, target, strategy }), {
      instanceOf: OverlayError,
    })) as OverlayError
    t.is(refused.code, ErrorCodes.TARGET_MOUNTED)
    t.is(refused.path, target)
    t.true(refused.message.includes(`target '${target}' is already a mount point`))
    t.true(refused.message.includes('allowStacking'))
    t.is(overlaysAt(target).length, 1)
    t.deepEqual(readdirSync(target).sort(), ['layer-0', 'layer-1'])

    const stacked = await mount({ ...top, target, strategy, allowStacking: true })
    t.is(overlaysAt(target).length, 2)
    const entry = await findMount(target)
    t.is(entry?.id, overlaysAt(target)[1].id, 'findMount returns the top-most')
    t.is(entry?.lowerdirs.length, 3)
    t.is(readFileSync(join(target, 'layer-2'), 'utf8'), `${top.lower[2]}\n`)

    await stacked.unmount()
    t.is(overlaysAt(target).length, 1)
    t.is(readFileSync(join(target, 'layer-0'), 'utf8'), `${bottom.lower[0]}\n`)
    await first.unmount()
    t.is(overlaysAt(target).length, 0)
  })
}

test('unmount of a directory that is not a mount point: ERR_OVERLAY_NOT_MOUNTED', async (t) => {
  const dir = sandbox(t)
  const plain = join(dir, 'plain')
  mkdirSync(plain)
  const err = (await t.throwsAsync(unmount(plain), { instanceOf: OverlayError })) as OverlayError
  t.is(err.code, ErrorCodes.NOT_MOUNTED)
  t.is(err.path, plain)
  t.true(err.message.startsWith(`unmount '${plain}': `), err.message)
  t.true(err.message.includes('it is not a mount point'), err.message)

  // Nor is a directory inside a mounted overlay.
  const store = containerdStore(join(dir, 's'), 2)
  mkdirSync(join(store.lower[0], 'sub'))
  const m = await mount(store)
  const inside = join(store.target, 'sub')
  const nested = (await t.throwsAsync(unmount(inside))) as OverlayError
  t.is(nested.code, ErrorCodes.NOT_MOUNTED)
  t.true(await isMounted(store.target))
  await m.unmount()
  const twice = (await t.throwsAsync(m.unmount())) as OverlayError
  t.is(twice.code, ErrorCodes.NOT_MOUNTED)
})

for (const strategy of STRATEGIES) {
  test(`${strategy}: a failed mount then a retry leaves exactly one overlay`, async (t) => {
    const store = containerdStore(sandbox(t), 3)
    rmdirSync(store.work)

    // Refused by the core: the work dir is missing.
    const missing = (await t.throwsAsync(mount({ ...store, strategy }))) as OverlayError
    t.is(missing.code, 'ENOENT')
    t.is(missing.syscall, 'open')
    t.is(missing.path, store.work)
    t.true(missing.message.includes('workdir does not exist'), missing.message)
    t.is(overlaysAt(store.target).length, 0)

    // Refused by the kernel: a work dir inside the upper dir.
    const inside = join(store.upper, 'work')
    mkdirSync(inside)
    const kernel = (await t.throwsAsync(mount({ ...store, work: inside, strategy }), {
      instanceOf: OverlayError,
    })) as OverlayError
    t.is(kernel.code, 'EINVAL')
    t.is(overlaysAt(store.target).length, 0)
    rmSync(inside, { recursive: true })

    mkdirSync(store.work)
    const m = await mount({ ...store, strategy })
    t.is(m.strategy, strategy)
    t.is(overlaysAt(store.target).length, 1)
    t.deepEqual(readdirSync(store.target).sort(), [...store.markers].sort())
    await m.unmount()
    t.is(overlaysAt(store.target).length, 0)
  })
}
