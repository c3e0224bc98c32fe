/**
 * The event-loop budget: a burst of calls in one synchronous stretch goes in slices, a
 * slice per turn and in order; a call that starts a stretch always goes at once.
 */
import test from 'ava'

import { TURN_BUDGET_MS, room } from '../src/turns'
import { busy, turnCounter } from './helpers/turns'

test.serial('the first call of a stretch goes at once, however busy the stretch was', async (t) => {
  for (let i = 0; i < 5; i++) {
    busy(2 * TURN_BUDGET_MS)
    t.is(room(), null)
    await undefined
  }
})

test.serial('a burst of calls goes a slice per turn, in the order of the calls', async (t) => {
  const turns = turnCounter()
  const order: number[] = []
  const perTurn = new Map<number, number>()
  const call = async (i: number) => {
    const wait = room()
    if (wait) await wait
    order.push(i)
    perTurn.set(turns.now(), (perTurn.get(turns.now()) ?? 0) + 1)
    // Each call's own synchronous work: 100 calls of it would hold the loop 20 ms.
    busy(0.2)
  }
  await Promise.all(Array.from({ length: 100 }, (_, i) => call(i)))
  turns.stop()
  t.deepEqual(
    order,
    Array.from({ length: 100 }, (_, i) => i),
  )
  const counts = [...perTurn.values()]
  t.true(counts.length >= 100 / 4, `${counts.length} turns`)
  t.true(Math.max(...counts) <= 4, `at most ${Math.max(...counts)} calls in one turn`)
})
