/**
 * What the scheduler knows of each node, from evidence only. Unknown is not down:
 *
 *   known    connected and reporting since it (re)connected: its links say what works
 *   unknown  not back yet since a start or a leader change, connected but not reported yet,
 *            gone for less than the grace time, reports gone stale, or the store unreadable
 *   gone     disconnected (or never back since the start) for longer than the grace time; with
 *            replicas, a node whose replica's lease lapsed (the replica, not the node, went
 *            silent) counts as gone only after a longer wait
 *
 * Only evidence removes a path (plan/guard.ts): a node gone, a link its known reporter says is
 * down, an operator's change. Pure: the core gives each node's evidence and the time.
 */

export type NodeKnowledge = 'known' | 'unknown' | 'gone'

export interface NodeEvidence {
  readonly connected: boolean
  /**
   * Connected: when its current connection began (or, for a view that just started, when the
   * view did). Not connected: when it left, or when the view started if it never came back.
   */
  readonly since: number
  /** Its last report in the current connection. */
  readonly reportedAt?: number
  /**
   * Not connected as far as the store shows, but nobody saw it leave: its record went with its
   * replica's lease (a replica cut off from etcd, or dead while the node reconnects elsewhere).
   */
  readonly unheard?: boolean
}

export interface KnowledgeRules {
  /** A node away this long counts as gone (scheduler.node_grace). */
  readonly graceMs: number
  /** An unheard node (NodeEvidence.unheard) counts as gone after this long. */
  readonly unheardMs: number
  /** A node connected this long without a report counts as known: it has nothing to say. */
  readonly firstReportMs: number
  /** A report older than this is stale (STALE_REPORTS report intervals). */
  readonly staleAfterMs: number
}

export interface NodeState {
  readonly state: NodeKnowledge
  /** When an unknown node turns known or gone, with no new evidence: plan again then. */
  readonly until?: number
}

export function nodeState(e: NodeEvidence, now: number, r: KnowledgeRules): NodeState {
  if (!e.connected) return unknownUntil(e.since + (e.unheard ? r.unheardMs : r.graceMs), now, 'gone')
  if (e.reportedAt === undefined) return unknownUntil(e.since + r.firstReportMs, now, 'known')
  const staleAt = e.reportedAt + r.staleAfterMs
  // Stale for longer than the grace time: what the node last said is what there is to go on.
  return now <= staleAt ? { state: 'known' } : unknownUntil(staleAt + r.graceMs, now, 'known')
}

function unknownUntil(at: number, now: number, then: NodeKnowledge): NodeState {
  return now >= at ? { state: then } : { state: 'unknown', until: at }
}

/** What the guard asks of the scheduler's knowledge. */
export interface Knowledge {
  state(node: string): NodeKnowledge
  /** Its reporter is known and reported the link from → to down. */
  linkDown(from: string, to: string): boolean
  /** Every node the scheduler has heard of is known or gone, and the store answers. */
  complete(): boolean
  /** The nodes heard of that are unknown now: all of them while the store cannot be read. */
  unknownNodes(): ReadonlySet<string>
}

export interface KnowledgeInputs {
  /** Absent: a node not heard of in this view, away since `viewStart`. */
  readonly evidence: (node: string) => NodeEvidence | undefined
  /** Every node this scheduler has heard of: connected, left, or holding a set it stored. */
  readonly nodes: readonly string[]
  /** Reported down in the reporter's last report (stale or not: the reporter's state decides). */
  readonly reportedDown: (from: string, to: string) => boolean
  readonly viewStart: number
  /** False while the store cannot be read (etcd without quorum): nothing counts as known then. */
  readonly storeReadable: boolean
  readonly now: number
  readonly rules: KnowledgeRules
}

/**
 * The knowledge of one recompute: states are worked out once per node, and `until` is the first
 * moment one of them would change by itself.
 */
export class KnowledgeView implements Knowledge {
  readonly #in: KnowledgeInputs
  readonly #states = new Map<string, NodeState>()
  #until = Number.POSITIVE_INFINITY

  constructor(inputs: KnowledgeInputs) {
    this.#in = inputs
  }

  /** The earliest time an unknown node seen so far turns known or gone. */
  get until(): number {
    return this.#until
  }

  state(node: string): NodeKnowledge {
    if (!this.#in.storeReadable) return 'unknown'
    let s = this.#states.get(node)
    if (s === undefined) {
      const e = this.#in.evidence(node) ?? { connected: false, since: this.#in.viewStart }
      s = nodeState(e, this.#in.now, this.#in.rules)
      this.#states.set(node, s)
      if (s.until !== undefined && s.until < this.#until) this.#until = s.until
    }
    return s.state
  }

  linkDown(from: string, to: string): boolean {
    return this.state(from) === 'known' && this.#in.reportedDown(from, to)
  }

  complete(): boolean {
    return this.#in.storeReadable && this.unknownNodes().size === 0
  }

  unknownNodes(): ReadonlySet<string> {
    return new Set(this.#in.nodes.filter((node) => this.state(node) === 'unknown'))
  }
}
