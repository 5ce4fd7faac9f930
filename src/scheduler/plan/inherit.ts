/**
 * A replica that becomes leader starts from the paths the sets in force carry, as if it had chosen
 * them itself just now: hysteresis then keeps them until a better path passes the margins and the
 * minimum dwell, instead of the new leader switching every route to its own first pick.
 */
import type { InstructionSet } from '../../instructions/types.ts'
import type { IngressPoint } from '../config/types.ts'
import type { PathSelection } from '../paths/hysteresis.ts'
import { selectionKey } from './planner.ts'

/** Stripe and redundant flows use every path at once: their first path is no choice. */
const CHOSEN_FIRST = new Set([undefined, 'failover'])

export function inheritedChoices(
  sets: Iterable<readonly [nodeId: string, set: InstructionSet]>,
  now: number,
): Map<string, PathSelection> {
  const choices = new Map<string, PathSelection>()
  for (const [nodeId, set] of sets) {
    for (const route of set.routes) {
      const first = route.paths[0]
      if (route.service === undefined || first === undefined || !CHOSEN_FIRST.has(route.multipath)) continue
      const point = ingressOf(nodeId, route.match)
      if (point === undefined) continue
      // The planner re-evaluates the current path on the live graph: only its nodes matter here.
      const path = {
        nodes: [nodeId, ...first.hops],
        cost: 0,
        metrics: { rttMs: 0, bottleneckBps: 0, loss: 0, costPerGb: 0 },
      }
      choices.set(selectionKey(route.service, point), { path, since: now, left: [] })
    }
  }
  return choices
}

function ingressOf(node: string, match: InstructionSet['routes'][number]['match']): IngressPoint | undefined {
  if (match.listener !== undefined) return { node, listener: match.listener }
  if (match.port !== undefined) return { node, port: match.port }
  return undefined
}
