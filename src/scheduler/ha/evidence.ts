/**
 * What the leader concludes about a node from the telemetry records replicas share through etcd
 * (records.ts), as the rule's evidence (plan/knowledge.ts). Pure: the cluster passes the record
 * and the time.
 *
 * A record that says the node is connected is a (re)connection or a report; one that says it left
 * is a replica seeing it go; a record that vanishes without either went with its replica's lease,
 * which tells nothing about the node itself.
 */
import type { NodeEvidence } from '../plan/knowledge.ts'
import type { TelemetryRecord } from './records.ts'

/**
 * A record that says the node has not reported is a (re)connection: knowledge of it starts over.
 * One that says it has is a report, from a node connected since it joined or since it last had
 * not reported.
 */
export function evidenceOnRecord(
  before: NodeEvidence | undefined,
  record: TelemetryRecord,
  joined: boolean,
  now: number,
): NodeEvidence {
  if (!record.connected)
    return before?.connected === false && !before.unheard ? before : { connected: false, since: now }
  const since = joined || !record.reported || !before?.connected ? now : before.since
  return { connected: true, since, ...(record.reported && { reportedAt: now }) }
}

/** The record vanished: unheard from, unless its replica had already seen it leave. */
export function evidenceOnVanished(before: NodeEvidence | undefined, now: number): NodeEvidence {
  if (before !== undefined && !before.connected) return before
  return { connected: false, since: now, unheard: true }
}
