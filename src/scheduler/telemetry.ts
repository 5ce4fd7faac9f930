/**
 * Link measurements from node reports, one entry per directed link (from the reporting node to a
 * peer), each stamped with when it arrived. Old data is not trusted: a link last reported more
 * than `staleAfterMs` ago counts as down, and so do the links of a node that disconnected.
 */

export interface LinkSample {
  readonly peer: string
  readonly up: boolean
  readonly rttMs: number
  readonly jitterMs: number
  readonly loss: number
  readonly throughputBps: number
  readonly activeFlows: number
}

export interface LinkView {
  readonly from: string
  readonly to: string
  /** Reported up, fresh, and its reporter connected. */
  readonly up: boolean
  readonly reportedUp: boolean
  readonly stale: boolean
  readonly rttMs: number
  readonly jitterMs: number
  readonly loss: number
  readonly throughputBps: number
  readonly activeFlows: number
  readonly reportedAt: number
  readonly ageMs: number
}

interface LinkEntry extends LinkSample {
  readonly from: string
  readonly reportedAt: number
  readonly reporterGone: boolean
}

export class LinkTable {
  readonly #links = new Map<string, LinkEntry>()
  /** The keys of each reporter's links: a report touches its own, not the whole table. */
  readonly #keysOf = new Map<string, string[]>()
  #version = 0

  /** Changes with every report and every reporter gone. */
  get version(): number {
    return this.#version
  }

  /**
   * Until when `list(…, staleAfterMs)` stays as it is now, reports aside: the moment the next
   * fresh link goes stale. Infinity when none is fresh.
   */
  freshUntil(now: number, staleAfterMs: number): number {
    let until = Number.POSITIVE_INFINITY
    for (const e of this.#links.values()) {
      const last = e.reportedAt + staleAfterMs
      if (last >= now && last < until) until = last
    }
    return until
  }

  /** A report replaces what its node said before: links it no longer mentions are dropped. */
  record(from: string, samples: readonly LinkSample[], now: number): void {
    this.#version++
    for (const key of this.#keysOf.get(from) ?? []) this.#links.delete(key)
    const keys: string[] = []
    for (const s of samples) {
      if (s.peer === '' || s.peer === from) continue
      const key = `${from}\u0000${s.peer}`
      this.#links.set(key, { ...s, from, reportedAt: now, reporterGone: false })
      keys.push(key)
    }
    this.#keysOf.set(from, keys)
  }

  /** `from`'s last report says its link to `to` is down. */
  reportedDown(from: string, to: string): boolean {
    return this.#links.get(`${from}\u0000${to}`)?.up === false
  }

  /** The peers `from` reported a link to in its last report. */
  peersOf(from: string): string[] {
    return (this.#keysOf.get(from) ?? []).flatMap((key) => this.#links.get(key)?.peer ?? [])
  }

  nodeGone(id: string): void {
    this.#version++
    for (const key of this.#keysOf.get(id) ?? []) {
      const entry = this.#links.get(key)
      if (entry) this.#links.set(key, { ...entry, reporterGone: true })
    }
  }

  /** Drops what `id` reported: a node the registry forgot. */
  forget(id: string): void {
    const keys = this.#keysOf.get(id)
    if (keys === undefined) return
    this.#version++
    for (const key of keys) this.#links.delete(key)
    this.#keysOf.delete(id)
  }

  list(now: number, staleAfterMs: number): LinkView[] {
    return [...this.#links.values()]
      .map((e) => viewOf(e, now, staleAfterMs))
      .sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to))
  }
}

function viewOf(e: LinkEntry, now: number, staleAfterMs: number): LinkView {
  const ageMs = Math.max(0, now - e.reportedAt)
  const stale = ageMs > staleAfterMs
  return {
    from: e.from,
    to: e.peer,
    up: e.up && !stale && !e.reporterGone,
    reportedUp: e.up,
    stale,
    rttMs: e.rttMs,
    jitterMs: e.jitterMs,
    loss: e.loss,
    throughputBps: e.throughputBps,
    activeFlows: e.activeFlows,
    reportedAt: e.reportedAt,
    ageMs,
  }
}
