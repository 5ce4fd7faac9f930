/**
 * The one exponential backoff every retry loop uses: the delay doubles from `baseMs` with each
 * attempt up to `capMs`. Loops that many nodes or replicas run at once take "equal jitter" on top
 * (half of the delay fixed, half random), so that processes that failed at the same moment do not
 * retry in step, yet none retries at once.
 */

/** `attempt` 0 is the first retry: `baseMs`; then twice as long each time, never above `capMs`. */
export function backoffMs(attempt: number, baseMs: number, capMs: number): number {
  const exponent = Math.min(Math.max(0, attempt), 30)
  return Math.min(Math.max(baseMs, capMs), baseMs * 2 ** exponent)
}

/** Half of `delayMs` fixed, half of it scaled by `random` (in [0, 1)). */
export function equalJitter(delayMs: number, random: number): number {
  return Math.round(delayMs / 2 + (delayMs / 2) * Math.min(Math.max(random, 0), 1))
}

export function jitteredBackoffMs(attempt: number, baseMs: number, capMs: number, random: number): number {
  return equalJitter(backoffMs(attempt, baseMs, capMs), random)
}
