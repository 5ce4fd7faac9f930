/**
 * Delay before the next attempt to open a peer's control channel: exponential from 200 ms,
 * capped at 5 s, with "equal jitter" (half fixed, half random) so nodes that lost a peer at
 * the same moment do not all redial it in step, yet never retry at once.
 */
import { jitteredBackoffMs } from '../util/backoff.ts'

export const RECONNECT_BASE_MS = 200
export const RECONNECT_CAP_MS = 5_000

/** `attempt` counts failures since the channel last worked (0 for the first retry); `random` is in [0, 1). */
export function reconnectDelayMs(attempt: number, random: number): number {
  return jitteredBackoffMs(attempt, RECONNECT_BASE_MS, RECONNECT_CAP_MS, random)
}
