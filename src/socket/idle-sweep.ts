/**
 * Idle timeouts without a timer per connection: Bun's own socket timeout ticks every 4 s and is
 * not reset by traffic, so it cannot serve. One sweep per timeout (a listener's idle timeout, a
 * TLS handshake deadline) looks over the connections it is told of at a fixed interval and
 * expires those whose last read or write is older than the timeout. What a connection pays per
 * chunk is one field assignment from the coarse clock the sweep advances.
 */
import { advanceClock, type CoarseClock, coarseClock } from './clock.ts'
import { reportFault } from './faults.ts'

/** What a sweep watches: a Connection, or anything else that times out the same way. */
export interface Expiring {
  readonly lastActiveAt: number
  expire(): void
}

export interface SweepTimers {
  setInterval(tick: () => void, ms: number): unknown
  clearInterval(handle: unknown): void
}

export interface IdleSweepOptions {
  readonly timeoutMs: number
  /** `sweepIntervalFor(timeoutMs)` unless given. */
  readonly intervalMs?: number
  readonly now?: () => number
  readonly clock?: CoarseClock
  readonly timers?: SweepTimers
}

/**
 * Expired: a timeout is set and the last activity is surely at least that long ago. The activity
 * was stamped from a clock up to one step behind, so one step is added: an item is never expired
 * early, and at most two steps late.
 */
export function isExpired(
  now: number,
  lastActiveAt: number,
  timeoutMs: number,
  clockStepMs: number,
): boolean {
  return timeoutMs > 0 && now - lastActiveAt >= timeoutMs + clockStepMs
}

/**
 * A tick every fifth of the timeout, within [25 ms, 1 s]: an item is expired at most two fifths
 * late, and a sweep over many idle flows runs seldom.
 */
export function sweepIntervalFor(timeoutMs: number): number {
  return Math.min(1_000, Math.max(25, Math.floor(timeoutMs / 5)))
}

const REAL_TIMERS: SweepTimers = {
  setInterval(tick, ms) {
    const handle = setInterval(tick, ms)
    // A sweep alone must not keep the process alive.
    handle.unref()
    return handle
  },
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
}

export class IdleSweep {
  readonly timeoutMs: number
  readonly intervalMs: number
  readonly clock: CoarseClock
  readonly #now: () => number
  readonly #timers: SweepTimers
  readonly #watched = new Set<Expiring>()
  #handle: unknown = undefined
  readonly #tick = () => this.tick()

  constructor(options: IdleSweepOptions) {
    this.timeoutMs = options.timeoutMs
    this.intervalMs = options.intervalMs ?? sweepIntervalFor(options.timeoutMs)
    this.clock = options.clock ?? coarseClock
    this.#now = options.now ?? Date.now
    this.#timers = options.timers ?? REAL_TIMERS
  }

  get size(): number {
    return this.#watched.size
  }

  /**
   * Watches `item`. The clock is read now when no tick was running, so the item's last activity,
   * which its owner sets from the clock, is not older than the watch.
   */
  add(item: Expiring): void {
    if (this.#handle === undefined) {
      advanceClock(this.clock, this.#now())
      this.#handle = this.#timers.setInterval(this.#tick, this.intervalMs)
    }
    this.#watched.add(item)
  }

  delete(item: Expiring): void {
    this.#watched.delete(item)
    if (this.#watched.size === 0) this.#stopTimer()
  }

  /** One pass: every expired item is dropped from the watch, then told. */
  tick(): void {
    const now = this.#now()
    advanceClock(this.clock, now)
    for (const item of this.#watched) {
      if (!isExpired(now, item.lastActiveAt, this.timeoutMs, this.intervalMs)) continue
      this.#watched.delete(item)
      try {
        item.expire()
      } catch (err) {
        // A timer callback that throws ends the process; one item's fault must not.
        reportFault(err)
      }
    }
    if (this.#watched.size === 0) this.#stopTimer()
  }

  /** Forgets every item without expiring any. */
  clear(): void {
    this.#watched.clear()
    this.#stopTimer()
  }

  #stopTimer(): void {
    if (this.#handle === undefined) return
    this.#timers.clearInterval(this.#handle)
    this.#handle = undefined
  }
}
