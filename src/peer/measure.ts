/**
 * Link measurements from control-channel probes, as pure functions over plain values: smoothed
 * RTT, jitter and loss. Times are milliseconds, fractional.
 *
 * The RTT is smoothed as TCP does, which hides jitter but follows a lasting change slowly: at one
 * probe a second and a gain of 1/8, a route's delay that halves takes some 5 s to show, and the
 * scheduler could not move a path before. So a level shift is taken at once: when SHIFT_SAMPLES
 * answered probes in a row all lie beyond the noise on the same side, the smoothed RTT moves to
 * their level. The noise is the median change between consecutive probes among the last few:
 * unlike the jitter, one late probe (a stalled process, a queue) does not raise it for long.
 */

/** TCP's SRTT gain (RFC 6298). */
export const RTT_GAIN = 1 / 8
/** RFC 3550's interarrival-jitter gain. */
export const JITTER_GAIN = 1 / 16
/** Loss is the share of unanswered probes among this many latest ones. */
export const LOSS_WINDOW = 20
/** Answered probes in a row beyond the threshold, on one side, that make a level shift. */
export const SHIFT_SAMPLES = 2
/** Changes between consecutive probes the noise is the median of; no shift before there are as many. */
export const NOISE_WINDOW = 16
/** A sample counts towards a shift when it is off the smoothed RTT by more than this share of it, */
export const SHIFT_RELATIVE = 0.1
/** and by more than this many times the noise (jitter alone stays within about 2.5 of it), */
export const SHIFT_NOISES = 6
/** and by more than this: below it every link is noise. */
export const SHIFT_MIN_MS = 1

export interface LinkMetrics {
  readonly rttMs?: number
  readonly jitterMs?: number
  /** The RTT of the previous answered probe: jitter follows its changes. */
  readonly lastRttMs?: number
  /** Probe outcomes, oldest first, at most LOSS_WINDOW: true = answered in time. */
  readonly outcomes: readonly boolean[]
  /** |RTT change| between consecutive answered probes, oldest first, at most NOISE_WINDOW. */
  readonly changes: readonly number[]
  /** The samples of a level shift under way, while there are fewer than SHIFT_SAMPLES. */
  readonly shift?: PendingShift
}

export interface PendingShift {
  /** Whether the samples lie above the smoothed RTT. */
  readonly above: boolean
  /** Answered probes in a row beyond the threshold on that side, oldest first. */
  readonly samples: readonly number[]
  /** The jitter before the first of them: their jump is a change of level, not jitter. */
  readonly jitterMs: number
}

export const EMPTY_METRICS: LinkMetrics = { outcomes: [], changes: [] }

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

/** How far off the smoothed RTT a sample must be to count towards a level shift. */
export function shiftThreshold(rttMs: number, noiseMs: number): number {
  return Math.max(SHIFT_MIN_MS, SHIFT_RELATIVE * rttMs, SHIFT_NOISES * noiseMs)
}

/** The median of the changes between consecutive probes; undefined until the window is full. */
export function noiseOf(changes: readonly number[]): number | undefined {
  if (changes.length < NOISE_WINDOW) return undefined
  const sorted = [...changes].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

/** The shift `rttMs` starts or continues; undefined when the sample is within the noise. */
export function shiftAfter(m: LinkMetrics, rttMs: number): PendingShift | undefined {
  const noise = noiseOf(m.changes)
  if (m.rttMs === undefined || noise === undefined) return undefined
  const off = rttMs - m.rttMs
  if (Math.abs(off) <= shiftThreshold(m.rttMs, noise)) return undefined
  const above = off > 0
  const samples = m.shift?.above === above ? [...m.shift.samples, rttMs] : [rttMs]
  return { above, samples, jitterMs: m.shift?.jitterMs ?? m.jitterMs ?? 0 }
}

function withChange(
  changes: readonly number[],
  lastRttMs: number | undefined,
  rttMs: number,
): readonly number[] {
  if (lastRttMs === undefined) return changes
  const kept = changes.length >= NOISE_WINDOW ? changes.slice(changes.length - NOISE_WINDOW + 1) : changes
  return [...kept, Math.abs(rttMs - lastRttMs)]
}

/**
 * The level of a shift: the sample nearest the old RTT, so that one far outlier among them does
 * not overshoot. The jitter is the one before the shift, updated by the samples' own variation.
 */
function shifted(shift: PendingShift): { rttMs: number; jitterMs: number } {
  const { samples } = shift
  let jitterMs = shift.jitterMs
  for (let i = 1; i < samples.length; i++)
    jitterMs = smoothJitter(jitterMs, samples[i - 1], samples[i] as number)
  return { rttMs: shift.above ? Math.min(...samples) : Math.max(...samples), jitterMs }
}

export function recordAnswered(m: LinkMetrics, rttMs: number): LinkMetrics {
  const outcomes = withOutcome(m.outcomes, true)
  const changes = withChange(m.changes, m.lastRttMs, rttMs)
  const shift = shiftAfter(m, rttMs)
  if (shift !== undefined && shift.samples.length >= SHIFT_SAMPLES) {
    return { ...shifted(shift), lastRttMs: rttMs, outcomes, changes }
  }
  return {
    rttMs: smoothRtt(m.rttMs, rttMs),
    jitterMs: smoothJitter(m.jitterMs, m.lastRttMs, rttMs),
    lastRttMs: rttMs,
    outcomes,
    changes,
    ...(shift && { shift }),
  }
}

export function recordUnanswered(m: LinkMetrics): LinkMetrics {
  return { ...m, outcomes: withOutcome(m.outcomes, false) }
}
