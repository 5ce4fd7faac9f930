import { DynproxyError } from '../errors/index.ts'

/** Exit codes: documented in the README's "Operating" section. */
export const EXIT = {
  ok: 0,
  failure: 1,
  config: 2,
  start: 3,
} as const

const CONFIG_CODES = new Set(['DYN_ERR_CONFIG_INVALID', 'DYN_ERR_CONFIG_SYNTAX', 'DYN_ERR_CONFIG_READ'])

export function exitCodeOf(err: unknown): number {
  if (err instanceof DynproxyError) return CONFIG_CODES.has(err.code) ? EXIT.config : EXIT.start
  return EXIT.failure
}

/** Prints an error for a human on stderr (code first, so it can be searched) and exits. */
export function exitWith(err: unknown, fallback: number = exitCodeOf(err)): never {
  const code = err instanceof DynproxyError ? exitCodeOf(err) : fallback
  const text =
    err instanceof DynproxyError ? `dynproxy: ${err.code}: ${err.message}` : `dynproxy: ${String(err)}`
  process.stderr.write(`${text}\n`)
  process.exit(code)
}
