/** Key paths as zod reports them, printed the way a reader finds them in YAML: `routes[0].match.port`. */
export type KeyPath = readonly PropertyKey[]

export function formatPath(path: KeyPath): string {
  let out = ''
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`
    else out += out === '' ? String(part) : `.${String(part)}`
  }
  return out
}
