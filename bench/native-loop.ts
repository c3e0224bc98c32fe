/**
 * The native loop: the `overlayfs-bench` binary, fed the very requests the package's planner
 * makes, and asked for one batch of cycles at a time so that it takes its turn in each round.
 */
import { spawn } from 'node:child_process'
import type { ChildProcessWithoutNullStreams } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Interface } from 'node:readline'

import type { NativeMountRequest } from '../dist/native'

/** What the binary prints at the end: its own medians and cycle counts, by case. */
export interface NativeSummary {
  medians: Record<string, number>
  cycles: Record<string, number>
}

/** One case of the binary's case file, in the format its `cases.rs` reads. */
export function caseText(id: string, req: NativeMountRequest): string {
  const lines = [`case ${id}`, `strategy ${req.strategy}`]
  if (req.cwd !== undefined) lines.push(`cwd ${req.cwd}`)
  lines.push(`target ${req.target}`)
  lines.push(...req.lower.map((p) => `lower ${p}`), ...req.dataLayers.map((p) => `datadir ${p}`))
  if (req.upper !== undefined) lines.push(`upper ${req.upper}`)
  if (req.work !== undefined) lines.push(`work ${req.work}`)
  for (const o of req.options)
    lines.push(`option ${o.value === undefined ? o.key : `${o.key}=${o.value}`}`)
  if (req.data !== undefined) lines.push(`data ${req.data}`)
  lines.push(`stacking ${req.allowStacking ? 1 : 0}`, 'end')
  if (lines.some((l) => l.includes('\n'))) throw new Error(`case ${id}: a path holds a newline`)
  return `${lines.join('\n')}\n`
}

/** The running binary, answering one batch request at a time. */
export class NativeLoop {
  private readonly child: ChildProcessWithoutNullStreams
  private readonly lines: Interface
  private readonly pending: ((line: string) => void)[] = []
  private stderr = ''

  /** Writes the cases to `file` and starts `binary` serving them. */
  constructor(binary: string, file: string, cases: { id: string; request: NativeMountRequest }[]) {
    writeFileSync(file, cases.map((c) => caseText(c.id, c.request)).join(''))
    this.child = spawn(binary, ['serve', file], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()))
    this.lines = createInterface({ input: this.child.stdout })
    this.lines.on('line', (line) => this.pending.shift()?.(line))
  }

  private ask(command: string | null): Promise<string> {
    return new Promise((resolve, reject) => {
      const fail = (code: number | null) =>
        reject(new Error(`overlayfs-bench exited with ${code}: ${this.stderr.trim()}`))
      this.child.once('exit', fail)
      this.pending.push((line) => {
        this.child.off('exit', fail)
        resolve(line)
      })
      if (command === null) this.child.stdin.end()
      else this.child.stdin.write(`${command}\n`)
    })
  }

  /** Runs `cycles` cycles of case number `index`; resolves to their times in nanoseconds. */
  async batch(index: number, cycles: number): Promise<number[]> {
    const reply = JSON.parse(await this.ask(`${index} ${cycles}`)) as { ns: number[] }
    return reply.ns
  }

  /** Makes the binary forget every time so far (those of the warm-up round). */
  async reset(): Promise<void> {
    await this.ask('reset')
  }

  /** Ends the binary's input; resolves to the medians it prints of every case. */
  async finish(): Promise<NativeSummary> {
    return JSON.parse(await this.ask(null)) as NativeSummary
  }

  /** Stops the binary if it still runs (after a failure elsewhere). */
  kill(): void {
    if (this.child.exitCode === null) this.child.kill()
  }
}
