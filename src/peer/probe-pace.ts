/**
 * How soon a peer is probed again. A peer in transition is probed sooner than every interval, as
 * HAProxy's `fastinter` does for checks, so that the probe that settles it comes a fraction of a
 * probe interval later rather than a whole one:
 * - coming up (answered, not yet `probe_rise` times in a row), every quarter interval: a new peer
 *   carries paths sooner;
 * - answering, with its noise not known yet (fewer than NOISE_WINDOW changes measured), every
 *   quarter interval: level shifts are judged by it, and it is known after a few seconds instead
 *   of NOISE_WINDOW intervals;
 * - with a level shift of its RTT under way (measure.ts), after half an interval: a changed link
 *   reaches the scheduler sooner, while a stall of this node's own process shorter than that
 *   cannot pass for a change of the link (its probes would be late together).
 * A settled peer costs one probe per interval as before. A peer going down is not hurried: each
 * of its probes must time out first anyway. Nor is one whose last probe is still unanswered: a
 * stall of either side would otherwise leave several probes to time out at once, and count as
 * `probe_fall` intervals of silence what was one.
 */
import type { Health } from './health.ts'
import { type LinkMetrics, NOISE_WINDOW } from './measure.ts'

/** Never faster than this, whatever the probe interval. */
export const MIN_PROBE_DELAY_MS = 50

/** `outstanding`: a probe is still waiting for its answer. */
export function nextProbeDelayMs(
  health: Health,
  metrics: LinkMetrics,
  intervalMs: number,
  outstanding: boolean,
): number {
  if (outstanding) return intervalMs
  const answering = health.answeredInRow > 0
  const rising = answering && health.state !== 'up'
  const young = answering && metrics.changes.length < NOISE_WINDOW
  if (rising || young) return sooner(intervalMs, 4)
  if (metrics.shift !== undefined) return sooner(intervalMs, 2)
  return intervalMs
}

function sooner(intervalMs: number, divisor: number): number {
  return Math.min(intervalMs, Math.max(MIN_PROBE_DELAY_MS, intervalMs / divisor))
}
