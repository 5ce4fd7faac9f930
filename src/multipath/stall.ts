/**
 * A flow stalls when it has work outstanding (bytes unacknowledged, or held out of order) and
 * nothing moves: no acknowledgement advances, no byte is delivered in order. This meter records
 * the gaps between progress events while busy; idle time is never a stall. Pure: the caller
 * passes the time.
 */

export interface StallStats {
  /** Gaps at or above the threshold. */
  readonly count: number
  readonly totalMs: number
  /** The longest gap without progress while busy, including the one under way. */
  readonly longestMs: number
  /** The gap under way, 0 when progressing or idle. */
  readonly currentMs: number
}

export class StallMeter {
  readonly #thresholdMs: number
  #since: number | undefined
  #count = 0
  #totalMs = 0
  #longestMs = 0

  constructor(thresholdMs: number) {
    this.#thresholdMs = thresholdMs
  }

  /** After an event: `busy` says whether work is outstanding now, `progressed` whether it moved. */
  note(now: number, busy: boolean, progressed: boolean): void {
    if (progressed && this.#since !== undefined) this.#record(now - this.#since)
    if (!busy) this.#since = undefined
    else if (progressed || this.#since === undefined) this.#since = now
  }

  stats(now: number): StallStats {
    const currentMs = this.#since === undefined ? 0 : now - this.#since
    return {
      count: this.#count,
      totalMs: this.#totalMs,
      longestMs: Math.max(this.#longestMs, currentMs),
      currentMs,
    }
  }

  #record(gapMs: number): void {
    if (gapMs > this.#longestMs) this.#longestMs = gapMs
    if (gapMs < this.#thresholdMs) return
    this.#count++
    this.#totalMs += gapMs
  }
}
