/**
 * Short in-memory history: a ring of samples of fixed size (an hour at one every 5 s is 720), and
 * the pure helpers that turn it into what a chart draws: rates from counters, and fewer points
 * for a narrow chart.
 */

/** One sample: a time (ms) and a value per column; null where the value was not known. */
export interface Sample {
  readonly t: number
  readonly v: readonly (number | null)[]
}

export class SampleRing {
  readonly #capacity: number
  readonly #ring: (Sample | undefined)[]
  #next = 0
  #size = 0

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 2)
      throw new RangeError(`capacity ${capacity}: need an integer ≥ 2`)
    this.#capacity = capacity
    this.#ring = new Array(capacity)
  }

  get size(): number {
    return this.#size
  }

  push(sample: Sample): void {
    this.#ring[this.#next] = sample
    this.#next = (this.#next + 1) % this.#capacity
    this.#size = Math.min(this.#size + 1, this.#capacity)
  }

  /** The newest sample, if any. */
  last(): Sample | undefined {
    return this.#size === 0 ? undefined : this.#ring[(this.#next - 1 + this.#capacity) % this.#capacity]
  }

  /** Samples at or after `sinceMs`, oldest first. */
  since(sinceMs = Number.NEGATIVE_INFINITY): Sample[] {
    const start = (this.#next - this.#size + this.#capacity) % this.#capacity
    const out: Sample[] = []
    for (let i = 0; i < this.#size; i++) {
      const s = this.#ring[(start + i) % this.#capacity] as Sample
      if (s.t >= sinceMs) out.push(s)
    }
    return out
  }
}

/**
 * Per-second rates between consecutive samples of cumulative counters; columns that are gauges
 * (`counters[c]` false) keep their later value. A counter that went down (the process behind it
 * restarted) restarts its rate at that sample rather than going negative. The result has one
 * sample fewer, each at the later time.
 */
export function ratesOf(samples: readonly Sample[], counters?: readonly boolean[]): Sample[] {
  const out: Sample[] = []
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1] as Sample
    const b = samples[i] as Sample
    const seconds = (b.t - a.t) / 1000
    if (seconds <= 0) continue
    out.push({
      t: b.t,
      v: b.v.map((value, c) => {
        if (counters !== undefined && counters[c] === false) return value
        const before = a.v[c]
        if (value === null || before === null || before === undefined) return null
        return value >= before ? (value - before) / seconds : value / seconds
      }),
    })
  }
  return out
}

function meanOf(values: readonly (number | null | undefined)[]): number | null {
  let sum = 0
  let n = 0
  for (const v of values) {
    if (v === null || v === undefined) continue
    sum += v
    n++
  }
  return n === 0 ? null : sum / n
}

/**
 * At most `maxPoints` samples: consecutive samples are averaged in equal groups, each stamped with
 * the time of its last sample, so the newest value stays the newest point.
 */
export function downsample(samples: readonly Sample[], maxPoints: number): Sample[] {
  if (maxPoints < 1) return []
  if (samples.length <= maxPoints) return [...samples]
  const group = Math.ceil(samples.length / maxPoints)
  const out: Sample[] = []
  // Groups are cut from the newest end: the oldest group may be the short one.
  for (let end = samples.length; end > 0; end -= group) {
    const slice = samples.slice(Math.max(0, end - group), end)
    const columns = (slice[0] as Sample).v.length
    const v: (number | null)[] = []
    for (let c = 0; c < columns; c++) v.push(meanOf(slice.map((s) => s.v[c])))
    out.push({ t: (slice[slice.length - 1] as Sample).t, v })
  }
  return out.reverse()
}
