/**
 * Layer compaction: the deepest directory that every layer sits in, and each layer's path
 * relative to it. The cut is always at a directory boundary: `/s/9000/fs` and `/s/9999/fs`
 * share the string prefix `/s/9`, but their common directory is `/s`.
 */

/** The deepest directory containing every one of `paths` (normalized absolute paths). */
export function commonDirectory(paths: readonly string[]): string {
  if (paths.length === 0) return '/'
  let common = paths[0].split('/').filter(Boolean)
  for (const path of paths.slice(1)) {
    const parts = path.split('/').filter(Boolean)
    let i = 0
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++
    common = common.slice(0, i)
  }
  // A layer that is itself the common directory still needs a name relative to its parent.
  if (paths.some((p) => p.split('/').filter(Boolean).length === common.length)) {
    common = common.slice(0, -1)
  }
  return `/${common.join('/')}`
}

/** `path` relative to `dir`, which contains it; absolute `path` if it does not. */
export function relativeTo(dir: string, path: string): string {
  if (path === dir) return '.'
  const prefix = dir === '/' ? '/' : `${dir}/`
  return path.startsWith(prefix) ? path.slice(prefix.length) : path
}
