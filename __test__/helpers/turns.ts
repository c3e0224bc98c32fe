/** Helpers for tests of how work is spread over turns of the event loop. */

/** Holds the event loop for `ms`. */
export function busy(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until);
}

/** Counts turns of the event loop (check phases) until stopped. */
export function turnCounter(): { now(): number; stop(): void } {
  let turn = 0
  let ticking = true
  const tick = () => {
    turn++
    if (ticking) setImmediate(tick)
  }
  setImmediate(tick)
  return { now: () => turn, stop: () => (ticking = false) }
}
