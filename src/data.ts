/**
 * Legacy mount data: the one option string `mount(2)` takes.
 *
 * overlayfs splits `lowerdir=` at unescaped `:` and unescapes `\`; it unescapes `upperdir=`
 * and `workdir=` too. A `,` cannot be carried: an option parser (a security module's among
 * them) may split there before overlayfs sees the string, so such paths never reach here.
 */
import type { NativeOption } from './native'
import type { ParsedOption } from './options'

/** Escapes a path for one entry of a legacy `lowerdir=` list. */
export function escapeLowerdir(path: string): string {
  return path.replace(/[\\:]/g, (c) => `\\${c}`)
}

/** Escapes a path for legacy `upperdir=`/`workdir=`, and for new-API `upperdir`/`workdir`. */
export function escapeUpperdir(path: string): string {
  return path.replace(/\\/g, '\\\\')
}

export interface LegacyLayers {
  lower: readonly string[]
  data: readonly string[]
  upper?: string
  work?: string
  options: readonly ParsedOption[]
}

/** One extra option as mount data spells it. */
export function optionText(option: ParsedOption | NativeOption): string {
  // A flag's value may also come back as null, from a plan kept as JSON.
  return option.value == null ? option.key : `${option.key}=${option.value}`
}

/** The exact legacy mount data for these layers (paths as the kernel will resolve them). */
export function legacyData(layers: LegacyLayers): string {
  let lowerdir = layers.lower.map(escapeLowerdir).join(':')
  for (const data of layers.data) lowerdir += `::${escapeLowerdir(data)}`
  const parts = [`lowerdir=${lowerdir}`]
  if (layers.upper !== undefined && layers.work !== undefined) {
    parts.push(`upperdir=${escapeUpperdir(layers.upper)}`, `workdir=${escapeUpperdir(layers.work)}`)
  }
  parts.push(...layers.options.map(optionText))
  return parts.join(',')
}

/** The size of `text` in bytes, as the kernel counts it. */
export function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8')
}
