import type { ConnectFailureReason } from '../errors/upstream.ts'
import { classifyConnectError } from '../upstream/connect.ts'

/**
 * Longer than any sane connect timeout, shorter than the kernel's SYN retries (about 130 s): Bun
 * reports a dial the kernel gave up on as ECONNREFUSED, where the truth is ETIMEDOUT.
 */
export const SYN_GIVE_UP_MS = 60_000

/** The reason of a failed dial, as upstream connects report it. */
export function dialFailureReason(code: string | undefined, elapsedMs: number): ConnectFailureReason {
  if (code === 'ECONNREFUSED' && elapsedMs >= SYN_GIVE_UP_MS) return 'timeout'
  return classifyConnectError(code)
}
