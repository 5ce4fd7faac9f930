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

  /** A report replaces what its node said before: links it no longer mentions are dropped. */
  record(from: string, samples: readonly LinkSample[], now: number): void {
    for (const [key, entry] of this.#links) if (entry.from === from) this.#links.delete(key)
    for (const s of samples) {
      if (s.peer === '' || s.peer === from) continue
      this.#links.set(`${from}\u0000${s.peer}`, { ...s, from, reportedAt: now, reporterGone: false })
    }
  }

  nodeGone(id: string): void {
    for (const [key, entry] of this.#links) {
      if (entry.from === id) this.#links.set(key, { ...entry, reporterGone: true })
    }
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
