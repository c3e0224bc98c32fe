/**
 * Promises over the addon's channel. Each job gets an id; the mount thread that runs it
 * queues its result, and wakes this thread once for all the results that are ready. They
 * are settled within the turn budget, a slice per turn, so that a wave of mounts finishing
 * together never holds the event loop for all of their continuations at once.
 */
import type { AddonMountRequest, NativeError, NativeMountEntry } from './native'
import { TURN_BUDGET_MS, nextTurn } from './turns'

/** One finished job. */
export interface NativeCompletion {
  id: number
  error?: NativeError | null
  entry?: NativeMountEntry | null
}

/** The addon's channel, as `crates/overlayfs-node/src/channel.rs` makes it. */
export interface AddonChannel {
  mount(id: number, request: AddonMountRequest): void
  unmount(id: number, target: string, detach: boolean): void
  findMount(id: number, target: string): void
  drain(): NativeCompletion[]
}

export type ChannelConstructor = new (ready: () => void) => AddonChannel

export class Jobs {
  private readonly channel: AddonChannel
  private readonly waiting = new Map<number, (done: NativeCompletion) => void>()
  /** Results drained from the channel and not yet settled, from `next` on. */
  private backlog: NativeCompletion[] = []
  private next = 0
  private settling = false
  private lastId = 0

  constructor(Channel: ChannelConstructor) {
    this.channel = new Channel(() => this.ready())
  }

  /** Starts a job with `start(channel, id)` and resolves with its result. */
  run(start: (channel: AddonChannel, id: number) => void): Promise<NativeCompletion> {
    const id = (this.lastId = (this.lastId % 0xffffffff) + 1)
    const done = new Promise<NativeCompletion>((resolve) => this.waiting.set(id, resolve))
    try {
      start(this.channel, id)
    } catch (err) {
      // The addon refused the arguments: no job runs, so nothing will settle it.
      this.waiting.delete(id)
      return Promise.reject(err)
    }
    return done
  }

  private ready(): void {
    const results = this.channel.drain()
    if (this.next === this.backlog.length) {
      this.backlog = results
      this.next = 0
    } else {
      this.backlog.push(...results)
    }
    if (!this.settling) void this.settle()
  }

  /**
   * Settles the backlog, one result at a time, in slices of the turn budget. The slice's
   * clock is its own: it counts the continuations of what it settles, not the caller's work
   * before, so that a mount started right after a result is not held back by it.
   */
  private async settle(): Promise<void> {
    this.settling = true
    let sliceStart = performance.now()
    while (this.next < this.backlog.length) {
      if (performance.now() - sliceStart >= TURN_BUDGET_MS) {
        await nextTurn()
        sliceStart = performance.now()
      }
      const done = this.backlog[this.next++]
      const resolve = this.waiting.get(done.id)
      this.waiting.delete(done.id)
      resolve?.(done)
      // Lets the continuation of what was just settled run before the budget is checked.
      await undefined
    }
    this.backlog = []
    this.next = 0
    this.settling = false
  }
}
