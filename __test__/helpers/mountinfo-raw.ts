/**
 * The test's own reading of /proc/self/mountinfo, independent of the package's parser, so
 * that what the package reports can be checked against the kernel's raw text.
 */
import { readFileSync } from 'node:fs'

/** A mountinfo path field with its `\ooo` octal escapes undone. */
export function unescapeField(field: string): string {
  const bytes: number[] = []
  const raw = Buffer.from(field, 'utf8')
  for (let i = 0; i < raw.length; i++) {
    const octal = raw.subarray(i + 1, i + 4).toString('latin1')
    if (raw[i] === 0x5c && /^[0-7]{3}$/.test(octal)) {
      bytes.push(parseInt(octal, 8))
      i += 3
    } else {
      bytes.push(raw[i])
    }
  }
  return Buffer.from(bytes).toString('utf8')
}

/** One raw mountinfo line, with the fields the tests look at. */
export interface RawLine {
  line: string
  id: number
  mountPoint: string
  fstype: string
  superOptions: string
}

/** Every line of /proc/self/mountinfo, in the kernel's order. */
export function rawMountinfo(): RawLine[] {
  const text = readFileSync('/proc/self/mountinfo', 'utf8')
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const fields = line.split(' ')
      const dash = fields.indexOf('-')
      return {
        line,
        id: Number(fields[0]),
        mountPoint: unescapeField(fields[4]),
        fstype: fields[dash + 1],
        superOptions: fields[dash + 3],
      }
    })
}

/** The raw lines of the overlays mounted exactly at `point`, bottom-most first. */
export function overlaysAt(point: string): RawLine[] {
  return rawMountinfo().filter((l) => l.fstype === 'overlay' && l.mountPoint === point)
}
