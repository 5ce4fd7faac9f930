/**
 * `GET /config`: the configuration the node runs, as loaded (defaults filled in, durations in
 * milliseconds), with every secret replaced: tokens, passwords, passphrases. Paths to key files
 * stay: they say where a secret is, not what it is.
 */

export const MASK = '(secret)'

/** Keys whose values are secrets, in the config's camelCase form. */
const SECRET_KEY = /(token|password|passphrase|secret)$/i

/** A JSON-able copy of `value` with secrets masked; buffers (path tokens) are masked too. */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (value === null || value === undefined) return value
  if (SECRET_KEY.test(key)) return MASK
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return MASK
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item))
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = maskSecrets(v, k)
    return out
  }
  if (typeof value === 'function' || typeof value === 'symbol') return undefined
  if (typeof value === 'bigint') return value.toString()
  return value
}
