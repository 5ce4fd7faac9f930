/**
 * Delay before the next attempt to reach a scheduler: exponential from `retry_interval`, capped,
 * with "equal jitter" (half fixed, half random) so that nodes that lost the scheduler at the same
 * moment do not all redial it in step, yet none retries at once. Once `max_retries` consecutive
 * attempts have failed the node is degraded and waits the capped delay between attempts.
 */
import { backoffMs, equalJitter } from '../util/backoff.ts'

export const DEFAULT_RETRY_CAP_MS = 60_000

export interface BackoffPolicy {
  readonly baseMs: number
  readonly capMs: number
  readonly maxRetries: number
}

export function isDegraded(failures: number, policy: BackoffPolicy): boolean {
  return failures > 0 && failures >= policy.maxRetries
}

/** `failures` counts consecutive failures, at least 1 when this is asked; `random` is in [0, 1). */
export function reconnectDelayMs(failures: number, policy: BackoffPolicy, random: number): number {
  const cap = Math.max(policy.baseMs, policy.capMs)
  const delay = isDegraded(failures, policy) ? cap : backoffMs(failures - 1, policy.baseMs, cap)
  return equalJitter(delay, random)
}
