/**
 * What a lone scheduler feeds the rule of plan/guard.ts (its registry and link table are the
 * evidence), and how the rule's holding back shows in the log: once when it starts, once when it
 * ends, never on every recompute.
 */
import type { Logger } from '../log/logger.ts'
import type { GuardedPlan } from './plan/guard.ts'
import { type KnowledgeRules, KnowledgeView } from './plan/knowledge.ts'
import type { NodeRegistry } from './registry.ts'
import type { LinkTable } from './telemetry.ts'

/** `acked`: nodes that acknowledged a set before this start; they count until known or gone. */
export function registryKnowledge(
  registry: NodeRegistry,
  links: LinkTable,
  acked: readonly string[],
  startedAt: number,
  now: number,
  rules: KnowledgeRules,
): KnowledgeView {
  return new KnowledgeView({
    evidence: (id) => {
      const n = registry.get(id)
      if (n === undefined) return undefined
      if (!n.connected) return { connected: false, since: n.disconnectedAt ?? n.connectedAt }
      return {
        connected: true,
        since: n.connectedAt,
        ...(n.lastReportAt !== undefined && { reportedAt: n.lastReportAt }),
      }
    },
    nodes: [...new Set([...registry.list().map((n) => n.id), ...acked])],
    reportedDown: (from, to) => links.reportedDown(from, to),
    viewStart: startedAt,
    storeReadable: true,
    now,
    rules,
  })
}

export function logGuardChanges(
  logger: Logger,
  before: { readonly held: ReadonlyMap<string, string>; readonly kept: readonly string[] },
  after: GuardedPlan,
): void {
  for (const [node, reason] of after.held) {
    if (!before.held.has(node)) logger.info({ node, reason }, 'sending a node nothing for now')
  }
  for (const node of before.held.keys()) {
    if (!after.held.has(node)) logger.info({ node }, 'a node held back is sent its set again')
  }
  const keptBefore = new Set(before.kept)
  for (const route of after.kept) {
    if (!keptBefore.has(route))
      logger.info({ route }, 'keeping paths the plan dropped: nothing shows they stopped working')
  }
  const keptNow = new Set(after.kept)
  for (const route of before.kept) {
    if (!keptNow.has(route))
      logger.info({ route }, 'a route kept for want of evidence follows the plan again')
  }
}
