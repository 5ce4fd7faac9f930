/**
 * A line that keeps coming back (an etcd call failing on every report while etcd has no leader)
 * is written once per window; the repeats in between are counted, and the count goes out with the
 * next line of that key (`repeated: n`), or on its own when the window ends. Without this, a fault
 * that lasts seconds writes a line per attempt: megabytes of log, and a synchronous stdout that
 * starves the event loop the process needs to recover.
 */
import type { Clock } from '../util/clock.ts'
import type { Logger } from './logger.ts'

export type RepeatLevel = 'info' | 'warn' | 'error'

export interface RepeatTimers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface RepeatLimiterOptions {
  readonly logger: Logger
  readonly clock: Clock
  /** At most one line per key per window. */
  readonly windowMs: number
  readonly timers?: RepeatTimers
}

interface Entry {
  loggedAt: number
  repeats: number
  last: { level: RepeatLevel; fields: Record<string, unknown>; msg: string }
  timer: unknown
}

const unrefTimers: RepeatTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

export class RepeatLimiter {
  readonly #o: RepeatLimiterOptions
  readonly #timers: RepeatTimers
  readonly #entries = new Map<string, Entry>()

  constructor(o: RepeatLimiterOptions) {
    this.#o = o
    this.#timers = o.timers ?? unrefTimers
  }

  /** Logs `msg` unless a line of `key` went out within the window; then counts it. */
  log(level: RepeatLevel, key: string, fields: Record<string, unknown>, msg: string): void {
    const now = this.#o.clock.now()
    const entry = this.#entries.get(key)
    if (entry === undefined) {
      this.#o.logger[level](fields, msg)
      this.#entries.set(key, { loggedAt: now, repeats: 0, last: { level, fields, msg }, timer: undefined })
      this.#arm(key)
      return
    }
    entry.last = { level, fields, msg }
    if (now - entry.loggedAt < this.#o.windowMs) {
      entry.repeats++
      return
    }
    this.#write(entry, now)
  }

  warn(key: string, fields: Record<string, unknown>, msg: string): void {
    this.log('warn', key, fields, msg)
  }

  /** How many lines of `key` were counted and not yet written. */
  pending(key: string): number {
    return this.#entries.get(key)?.repeats ?? 0
  }

  /** Writes every count still pending and forgets every key; for a stop. */
  flush(): void {
    const now = this.#o.clock.now()
    for (const entry of this.#entries.values()) {
      this.#timers.clearTimeout(entry.timer)
      if (entry.repeats > 0) this.#write(entry, now)
    }
    this.#entries.clear()
  }

  #write(entry: Entry, now: number): void {
    const { level, fields, msg } = entry.last
    this.#o.logger[level](entry.repeats > 0 ? { ...fields, repeated: entry.repeats } : fields, msg)
    entry.loggedAt = now
    entry.repeats = 0
  }

  /** At the window's end: the count goes out if there is one, else the key is forgotten. */
  #arm(key: string): void {
    const entry = this.#entries.get(key)
    if (entry === undefined) return
    entry.timer = this.#timers.setTimeout(
      () => {
        const now = this.#o.clock.now()
        if (entry.repeats === 0 && now - entry.loggedAt >= this.#o.windowMs) {
          this.#entries.delete(key)
          return
        }
        if (entry.repeats > 0 && now - entry.loggedAt >= this.#o.windowMs) this.#write(entry, now)
        this.#arm(key)
      },
      Math.max(1, entry.loggedAt + this.#o.windowMs - this.#o.clock.now()),
    )
  }
}
