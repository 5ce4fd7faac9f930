/**
 * One retry loop at a time, waiting a jittered exponential backoff between attempts. A lost etcd
 * lease used to be re-granted at once and, when the grant failed (which, with every member's
 * circuit breaker open, it does at once), once more at once and once later: each failure started
 * two loops, and a replica wrote hundreds of thousands of lines in two minutes. Here a request
 * while the loop runs joins it, and the attempts stay apart.
 */
import { jitteredBackoffMs } from '../../util/backoff.ts'
import type { Timers } from '../throttle.ts'

export interface RetryLoopOptions {
  readonly attempt: () => Promise<void>
  readonly onSuccess: () => void
  /** `failures` counts the failed attempts of this loop, this one included. */
  readonly onFailure: (err: unknown, failures: number, nextInMs: number) => void
  readonly baseMs: number
  readonly capMs: number
  readonly timers: Timers
  readonly random?: () => number
}

export class RetryLoop {
  readonly #o: RetryLoopOptions
  #running = false
  #failures = 0
  #timer: unknown
  #stopped = false

  constructor(o: RetryLoopOptions) {
    this.#o = o
  }

  get running(): boolean {
    return this.#running
  }

  /** Starts the loop with a first attempt now; while it runs, does nothing. */
  start(): void {
    if (this.#running || this.#stopped) return
    this.#running = true
    this.#failures = 0
    void this.#try()
  }

  stop(): void {
    this.#stopped = true
    this.#o.timers.clearTimeout(this.#timer)
  }

  async #try(): Promise<void> {
    try {
      await this.#o.attempt()
    } catch (err) {
      if (this.#stopped) return
      this.#failures++
      const delay = retryDelayMs(
        this.#failures,
        this.#o.baseMs,
        this.#o.capMs,
        (this.#o.random ?? Math.random)(),
      )
      this.#o.onFailure(err, this.#failures, delay)
      this.#timer = this.#o.timers.setTimeout(() => void this.#try(), delay)
      return
    }
    this.#running = false
    if (!this.#stopped) this.#o.onSuccess()
  }
}

/** After `failures` failed attempts (at least 1): exponential from `baseMs` to `capMs`, half of it random. */
export function retryDelayMs(failures: number, baseMs: number, capMs: number, random: number): number {
  return jitteredBackoffMs(failures - 1, baseMs, capMs, random)
}
