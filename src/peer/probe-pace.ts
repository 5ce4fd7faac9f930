/**
 * How soon a peer is probed again. A peer in transition is probed FAST_PROBE_DIVISOR times as
 * often, as HAProxy's `fastinter` does for checks, so that the probe that settles it comes a
 * fraction of a probe interval later rather than a whole one:
 * - coming up (answered, not yet `probe_rise` times in a row): a new peer carries paths sooner;
 * - with a level shift of its RTT under way (measure.ts): a changed link reaches the scheduler
 *   sooner;
 * - answering, with its noise not known yet (fewer than NOISE_WINDOW changes measured): level
 *   shifts are judged by it, and it is known after a second or two instead of NOISE_WINDOW
 *   probe intervals.
 * A settled peer costs one probe per interval as before. A peer going down is not hurried: each
 * of its probes must time out first anyway.
 */
import type { Health } from './health.ts'
import { type LinkMetrics, NOISE_WINDOW } from './measure.ts'

export const FAST_PROBE_DIVISOR = 4
/** Never faster than this, whatever the probe interval. */
export const MIN_PROBE_DELAY_MS = 50

export function nextProbeDelayMs(health: Health, metrics: LinkMetrics, intervalMs: number): number {
  const answering = health.answeredInRow > 0
  const rising = answering && health.state !== 'up'
  const young = answering && metrics.changes.length < NOISE_WINDOW
  const shifting = metrics.shift !== undefined
  if (!rising && !young && !shifting) return intervalMs
  return Math.min(intervalMs, Math.max(MIN_PROBE_DELAY_MS, intervalMs / FAST_PROBE_DIVISOR))
}
