/**
 * Promises over the addon's channel. Each job gets an id; the mount thread that runs it
 * queues its result, and wakes this thread once for all the results that are ready. They
 * are settled within the turn budget, a slice per turn, so that a wave of mounts finishing
 * together never holds the event loop for all of their continuations at once.
 */
import type { NativeError, NativeMountEntry } from './native'
import { TURN_BUDGET_MS, nextTurn } from './turns'

/** One finished job. */
export interface NativeCompletion {
  id: number
  error?: NativeError | null
  entry?: NativeMountEntry | null
}

/** The addon's channel, as `crates/overlayfs-node/src/channel.rs` makes it. */
export interface AddonChannel {
  mount(
    id: number,
    strategy: string,
    target: string,
    lower: string,
    lowerCount: number,
    dataLayers: string,
    dataCount: number,
    upper: string | undefined,
    work: string | undefined,
    cwd: string | undefined,
    options: string,
    optionsCount: number,
    data: string | undefined,
    allowStacking: boolean,
    freshThread: boolean,
  ): void
  unmount(id: number, target: string, detach: boolean): void
  findMount(id: number, target: string): void
  drain(max: number): NativeCompletion[]
}

/**
 * Results taken from the channel at a time: converting a thousand results that finished
 * together (failed unmounts, lookups) in one call held the event loop for 4 to 18 ms.
 */
const DRAIN_MAX = 32

export type ChannelConstructor = new (ready: () => void) => AddonChannel

/** What a job's Promise resolves with: its error, or the mount it found. */
export type Pick = 'error' | 'entry'

export class Jobs {
  private readonly channel: AddonChannel
  /** Waiting callers by job id, which is a slot here; `free` holds the slots not in use. */
  private readonly waiting: (((value: never) => void) | undefined)[] = []
  private readonly picks: Pick[] = []
  private readonly free: number[] = []
  private settling = false

  constructor(Channel: ChannelConstructor) {
    this.channel = new Channel(() => this.ready())
  }

  /**
   * Starts a job with `start(channel, id)` and resolves with the part of its result that
   * `pick` names, or null. Slots are reused, so that a steady stream of jobs allocates no
   * table space: a wave of hundreds in flight is what the garbage collector would see.
   */
  run<T>(pick: Pick, start: (channel: AddonChannel, id: number) => void): Promise<T | null> {
    const id = this.free.pop() ?? this.waiting.length
    const done = new Promise<T | null>((resolve) => {
      this.waiting[id] = resolve as (value: never) => void
      this.picks[id] = pick
    })
    try {
      start(this.channel, id)
    } catch (err) {
      // The addon refused the arguments: no job runs, so nothing will settle it.
      this.release(id)
      return Promise.reject(err)
    }
    return done
  }

  private release(id: number): ((value: never) => void) | undefined {
    const resolve = this.waiting[id]
    this.waiting[id] = undefined
    this.free.push(id)
    return resolve
  }

  private ready(): void {
    if (!this.settling) void this.settle()
  }

  /**
   * Settles every result that is ready, a few dozen drained at a time, one at a time and in
   * slices of the turn budget. The slice's clock is its own: it counts the continuations of
   * what it settles, not the caller's work before, so that a mount started right after a
   * result is not held back by it.
   */
  private async settle(): Promise<void> {
    this.settling = true
    let sliceStart = performance.now()
    const spent = () => performance.now() - sliceStart >= TURN_BUDGET_MS
    for (;;) {
      if (spent()) {
        await nextTurn()
        sliceStart = performance.now()
      }
      const results = this.channel.drain(DRAIN_MAX)
      if (results.length === 0) break
      for (const done of results) {
        if (spent()) {
          await nextTurn()
          sliceStart = performance.now()
        }
        const pick = this.picks[done.id]
        this.release(done.id)?.((done[pick] ?? null) as never)
        // Lets the continuation of what was just settled run before the budget is checked.
        await undefined
      }
    }
    this.settling = false
  }
}
