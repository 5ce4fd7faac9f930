/**
 * Runs a task at most once per `intervalMs`, however often it is asked for: the first request
 * runs after the interval has passed since the last run, later requests join it. Reports arrive
 * from every node every few seconds; this bounds recomputation to one per push_debounce.
 */

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export class Throttle {
  readonly #intervalMs: number
  readonly #task: () => void
  readonly #timers: Timers
  readonly #now: () => number
  #lastRun = Number.NEGATIVE_INFINITY
  #pending: unknown

  constructor(intervalMs: number, task: () => void, timers: Timers, now: () => number) {
    this.#intervalMs = intervalMs
    this.#task = task
    this.#timers = timers
    this.#now = now
  }

  request(): void {
    if (this.#pending !== undefined) return
    const wait = Math.max(0, this.#lastRun + this.#intervalMs - this.#now())
    this.#pending = this.#timers.setTimeout(() => {
      this.#pending = undefined
      this.#lastRun = this.#now()
      this.#task()
    }, wait)
  }

  /**
   * Runs the task now when the interval has passed since the last run (the first event of a quiet
   * spell is served at once), else joins the pending run: a burst costs one run per interval.
   */
  runOrRequest(): void {
    if (this.#pending !== undefined) return
    if (this.#now() < this.#lastRun + this.#intervalMs) {
      this.request()
      return
    }
    this.#lastRun = this.#now()
    this.#task()
  }

  /** The task ran for another reason: a pending request is satisfied, and the interval restarts. */
  ranNow(): void {
    this.#lastRun = this.#now()
    this.cancel()
  }

  cancel(): void {
    if (this.#pending === undefined) return
    this.#timers.clearTimeout(this.#pending)
    this.#pending = undefined
  }
}
