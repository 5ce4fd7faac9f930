import type { ConnectFailureReason } from '../errors/upstream.ts'

export type { ConnectFailureReason }

const REASONS: ReadonlyMap<string, ConnectFailureReason> = new Map(
  Object.entries({
    ECONNREFUSED: 'refused',
    ETIMEDOUT: 'timeout',
    EHOSTUNREACH: 'unreachable',
    ENETUNREACH: 'unreachable',
    EHOSTDOWN: 'unreachable',
    ENETDOWN: 'unreachable',
    EADDRNOTAVAIL: 'unreachable',
    ENOTFOUND: 'dns',
    EAI_AGAIN: 'dns',
    EAI_FAIL: 'dns',
    EAI_NONAME: 'dns',
    EAI_NODATA: 'dns',
    ECONNRESET: 'reset',
    ECONNABORTED: 'reset',
    EPIPE: 'reset',
  } as const),
)

/** What an errno code of a failed connect means for outlier detection and for a client's reply. */
export function classifyConnectError(code: string | undefined): ConnectFailureReason {
  return (code !== undefined && REASONS.get(code)) || 'other'
}

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

/** Why a dial failed: the reason its error carries (every dial error of ours has one), else `other`. */
export function failureReasonOf(error: Error): ConnectFailureReason {
  return (error as { readonly reason?: ConnectFailureReason }).reason ?? 'other'
}
