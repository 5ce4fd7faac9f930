/**
 * Per-subflow measurements for the scheduler: RTT from PING/PONG, delivery rate from the bytes the
 * receiver reports on ACKs. Pure: the caller passes the time of each event.
 *
 * The minimum RTT is kept over the subflow's life: PINGs queue behind data, so later samples
 * include queueing that the scheduler already counts from the bytes in flight. A subflow follows
 * one fixed path, so its propagation delay does not drift far.
 *
 * The delivery rate is sampled between ACKs at least `RATE_SAMPLE_MS` apart. A sample taken while
 * the subflow had less in flight than it could have delivered is application-limited and only
 * raises the estimate (as BBR does): a path the scheduler gave little to is not judged slow.
 */

const RTT_ALPHA = 1 / 8
const RATE_ALPHA = 1 / 4
const RATE_SAMPLE_MS = 20
/** Until a path is measured: 1 MB/s scaled by its weight, low so that no path is flooded blind. */
export const PRIOR_RATE_BYTES_PER_MS = 1_000
const FLOOR_RATE_BYTES_PER_MS = 16

export class SubflowMeter {
  #srttMs: number | undefined
  #minRttMs = Number.POSITIVE_INFINITY
  #rate: number
  #sampleAt: number | undefined
  #sampleReceived = 0
  #sampleInflight = 0
  #delivered = 0
  #measured = false

  constructor(priorRateBytesPerMs: number) {
    this.#rate = Math.max(FLOOR_RATE_BYTES_PER_MS, priorRateBytesPerMs)
  }

  get srttMs(): number | undefined {
    return this.#srttMs
  }

  get minRttMs(): number {
    return Number.isFinite(this.#minRttMs) ? this.#minRttMs : 0
  }

  get rateBytesPerMs(): number {
    return this.#rate
  }

  /** Bytes the receiver reported received on this subflow. */
  get delivered(): number {
    return this.#delivered
  }

  onRtt(rttMs: number): void {
    const rtt = Math.max(0, rttMs)
    this.#srttMs = this.#srttMs === undefined ? rtt : this.#srttMs + RTT_ALPHA * (rtt - this.#srttMs)
    if (rtt < this.#minRttMs) this.#minRttMs = rtt
  }

  /** Whether a delivery rate has been measured; until then the rate is the prior. */
  get measured(): boolean {
    return this.#measured
  }

  /** A chunk left on this subflow: the first one opens the first rate sample. */
  onSent(now: number): void {
    if (this.#sampleAt === undefined) this.#startSample(now, 0)
  }

  /**
   * The receiver reports `received` bytes in total on this subflow at `now`, with `inflight` bytes
   * outstanding before this report. Returns the bytes newly reported.
   */
  onReceived(received: number, inflight: number, now: number): number {
    const fresh = Math.max(0, received - this.#delivered)
    this.#delivered += fresh
    if (this.#sampleAt === undefined) {
      this.#startSample(now, inflight - fresh)
      return fresh
    }
    const elapsed = now - this.#sampleAt
    if (elapsed < RATE_SAMPLE_MS) return fresh
    // Nothing delivered over a whole interval: idle or stalled, which silence detection judges.
    if (this.#delivered > this.#sampleReceived) {
      this.#sample((this.#delivered - this.#sampleReceived) / elapsed, elapsed)
    }
    this.#startSample(now, inflight - fresh)
    return fresh
  }

  #sample(rate: number, elapsed: number): void {
    if (!this.#measured) {
      // The first sample spans the first round trip: low, but far closer than the prior.
      this.#measured = true
      this.#rate = Math.max(FLOOR_RATE_BYTES_PER_MS, rate)
      return
    }
    const appLimited = this.#sampleInflight < rate * elapsed
    if (appLimited && rate <= this.#rate) return
    this.#rate = Math.max(FLOOR_RATE_BYTES_PER_MS, this.#rate + RATE_ALPHA * (rate - this.#rate))
  }

  #startSample(now: number, inflight: number): void {
    this.#sampleAt = now
    this.#sampleReceived = this.#delivered
    this.#sampleInflight = Math.max(0, inflight)
  }
}
