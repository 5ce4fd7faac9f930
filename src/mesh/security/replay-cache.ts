/**
 * Nonces of authenticated headers, remembered while a replay of their header could still pass
 * the timestamp check (until timestamp + window). Bounded in entries.
 *
 * When full of unexpired nonces it refuses new ones (`full`) instead of evicting: evicting a live
 * nonce would let a captured header be replayed, and only authenticated peers can fill the cache,
 * so a full cache means it is sized below the real rate of new data connections. Size it to at
 * least the peak number of data connections accepted per 60 s (an entry lives at most 60 s: its
 * timestamp may be 30 s ahead of this clock, plus the 30 s window).
 */
import type { Clock } from '../../util/clock.ts'

/** About 2,200 new data connections per second sustained for a minute; ≈ 100 bytes each. */
export const DEFAULT_REPLAY_CACHE_ENTRIES = 131_072

export type ReplayVerdict = 'fresh' | 'replayed' | 'full'

/**
 * Where a node remembers the nonces of the headers it accepted: one place per node, so that a
 * captured header opens one flow whichever of its processes it reaches. A ReplayCache in a node of
 * one process; with worker processes, their primary's, asked over IPC (workers/nonces.ts).
 */
export interface ReplayGuard {
  /** Records `nonce` until `expiresAtMs` unless it is already recorded and unexpired. */
  remember(nonce: Buffer, expiresAtMs: number): ReplayVerdict | Promise<ReplayVerdict>
}

export interface ReplayCacheOptions {
  readonly maxEntries: number
  readonly clock: Clock
}

export class ReplayCache implements ReplayGuard {
  readonly #max: number
  readonly #clock: Clock
  // Insertion order is close to expiry order (expiries differ by at most the clock skew allowed),
  // so expired entries are taken from the head and a full scan runs only when the head is live.
  readonly #expiries = new Map<string, number>()
  /** No entry expires before this: a full scan before then would free nothing. */
  #nothingExpiresBefore = 0

  constructor(options: ReplayCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`replay cache maxEntries ${options.maxEntries} must be a positive integer`)
    }
    this.#max = options.maxEntries
    this.#clock = options.clock
  }

  get size(): number {
    return this.#expiries.size
  }

  /** Records `nonce` until `expiresAtMs` unless it is already recorded and unexpired. */
  remember(nonce: Buffer, expiresAtMs: number): ReplayVerdict {
    const now = this.#clock.now()
    const key = nonce.toString('latin1')
    const known = this.#expiries.get(key)
    if (known !== undefined) {
      if (known > now) return 'replayed'
      this.#expiries.delete(key)
    }
    this.#dropExpiredHead(now)
    if (this.#expiries.size >= this.#max && !this.#scan(now)) return 'full'
    this.#expiries.set(key, expiresAtMs)
    return 'fresh'
  }

  #dropExpiredHead(now: number): void {
    for (const [key, expiresAt] of this.#expiries) {
      if (expiresAt > now) return
      this.#expiries.delete(key)
    }
  }

  /** Deletes every expired entry; true when that made room. */
  #scan(now: number): boolean {
    if (now < this.#nothingExpiresBefore) return false
    let earliest = Number.POSITIVE_INFINITY
    for (const [key, expiresAt] of this.#expiries) {
      if (expiresAt <= now) this.#expiries.delete(key)
      else if (expiresAt < earliest) earliest = expiresAt
    }
    this.#nothingExpiresBefore = earliest
    return this.#expiries.size < this.#max
  }
}
