/**
 * Link measurements from control-channel probes, as pure functions over plain values: smoothed
 * RTT, jitter and loss. Times are milliseconds, fractional.
 */

/** TCP's SRTT gain (RFC 6298). */
export const RTT_GAIN = 1 / 8
/** RFC 3550's interarrival-jitter gain. */
export const JITTER_GAIN = 1 / 16
/** Loss is the share of unanswered probes among this many latest ones. */
export const LOSS_WINDOW = 20

export interface LinkMetrics {
  readonly rttMs?: number
  readonly jitterMs?: number
  /** The RTT of the previous answered probe: jitter follows its changes. */
  readonly lastRttMs?: number
  /** Probe outcomes, oldest first, at most LOSS_WINDOW: true = answered in time. */
  readonly outcomes: readonly boolean[]
}

export const EMPTY_METRICS: LinkMetrics = { outcomes: [] }

export function smoothRtt(previous: number | undefined, sample: number): number {
  return previous === undefined ? sample : previous + (sample - previous) * RTT_GAIN
}

/** RFC 3550 §6.4.1: J += (|D| − J) / 16, where D is the change between consecutive RTTs. */
export function smoothJitter(previous: number | undefined, lastRtt: number | undefined, rtt: number): number {
  if (lastRtt === undefined) return previous ?? 0
  const prev = previous ?? 0
  return prev + (Math.abs(rtt - lastRtt) - prev) * JITTER_GAIN
}

export function withOutcome(outcomes: readonly boolean[], answered: boolean): boolean[] {
  const next =
    outcomes.length >= LOSS_WINDOW ? outcomes.slice(outcomes.length - LOSS_WINDOW + 1) : [...outcomes]
  next.push(answered)
  return next
}

/** Share of unanswered probes in the window; undefined before any probe has an outcome. */
export function lossRatio(outcomes: readonly boolean[]): number | undefined {
  if (outcomes.length === 0) return undefined
  let lost = 0
  for (const answered of outcomes) if (!answered) lost++
  return lost / outcomes.length
}

export function recordAnswered(m: LinkMetrics, rttMs: number): LinkMetrics {
  return {
    rttMs: smoothRtt(m.rttMs, rttMs),
    jitterMs: smoothJitter(m.jitterMs, m.lastRttMs, rttMs),
    lastRttMs: rttMs,
    outcomes: withOutcome(m.outcomes, true),
  }
}

export function recordUnanswered(m: LinkMetrics): LinkMetrics {
  return { ...m, outcomes: withOutcome(m.outcomes, false) }
}
