/**
 * A budget of event-loop time for this package's work. A burst of calls (256 mounts made in
 * one synchronous loop) is planned and submitted in slices, with timers and I/O let through
 * between them, instead of holding the loop for all of them at once.
 *
 * A burst is what runs before the next microtask checkpoint: one synchronous stretch of the
 * caller's code. Its first call goes at once, however long the caller's own code ran
 * before it, unless calls are still waiting: then it waits behind them, so that calls keep
 * their order. Later calls go at once while the stretch is within budget. Waiting calls are
 * let go by a check-phase callback, one budget per turn of the event loop, in order.
 *
 * A caller that awaits already-settled values between calls, without letting the event loop
 * turn, starts a new stretch with each call, and all of them go at once: the budget cannot
 * see past a loop of the caller's that never yields.
 */

/** How long one slice of this package's work may hold the event loop, in ms. */
export const TURN_BUDGET_MS = 0.5

/** When the current synchronous stretch's first call came, or null outside of one. */
let stretchStart: number | null = null
/** Calls waiting for a slice, oldest first from `head`. */
let queue: (() => void)[] = []
let head = 0
/** Whether `serve` is due or running. */
let serving = false

/**
 * Null when the caller may go on at once; else a Promise that resolves when its slice
 * comes. The caller must await it directly, so that its work up to its next await runs
 * before the next waiting call is let go and the slice's clock is read again.
 */
export function room(): Promise<void> | null {
  if (head === queue.length) {
    if (stretchStart === null) {
      stretchStart = performance.now()
      queueMicrotask(() => (stretchStart = null))
      return null
    }
    if (performance.now() - stretchStart < TURN_BUDGET_MS) return null
  }
  if (!serving) {
    serving = true
    setImmediate(serve)
  }
  return new Promise((resolve) => queue.push(resolve))
}

/** Lets waiting calls go, one at a time, until this turn's slice is spent. */
async function serve(): Promise<void> {
  const start = performance.now()
  while (head < queue.length && performance.now() - start < TURN_BUDGET_MS) {
    queue[head++]()
    // The call's own work, up to its next await, runs before this continues.
    await undefined
  }
  if (head < queue.length) {
    setImmediate(serve)
  } else {
    queue = []
    head = 0
    serving = false
  }
}

/** Resolves in a later turn of the event loop, after its timers and I/O. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
