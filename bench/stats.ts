/** Summaries of timed samples. Times are in nanoseconds unless a name says otherwise. */

/** The value below which `p` percent of `values` fall (nearest rank); NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]
}

/** The median of `values` (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

/** Nanoseconds since an arbitrary start, as a number. */
export function now(): number {
  return Number(process.hrtime.bigint())
}

/** Times `run` once, in nanoseconds. */
export async function timed(run: () => Promise<void>): Promise<number> {
  const start = now()
  await run()
  return now() - start
}
