/**
 * What a node may do with an open request it received: pure checks, in the order a relay applies
 * them after authentication. Each refusal has its own status so the ingress (and the operator)
 * learns exactly why a path was refused.
 */
import type { AllowTarget, RouteConfig } from '../../config/types.ts'
import { targetRanges } from '../../util/target-ranges.ts'
import type { MeshStatus } from '../wire/constants.ts'
import type { OpenRequest } from '../wire/request.ts'

export interface Refusal {
  readonly status: MeshStatus
  readonly message: string
}

export interface RelayPolicy {
  readonly nodeId: string
  readonly maxHops: number
  readonly peers: ReadonlySet<string>
  /** `issued`: a path token this node verified names the target. */
  readonly targetAllowed: (target: string, issued: boolean) => boolean
}

/**
 * `issued`: the request carries a path token this node verified, so the scheduler has authorised
 * its target, within what this node's own config allows (`targetAllowList`).
 */
export function checkOpenRequest(req: OpenRequest, policy: RelayPolicy, issued = false): Refusal | undefined {
  const { nodeId } = policy
  if (req.sourceNodeId === nodeId || req.visited.includes(nodeId)) {
    return { status: 'loop', message: `flow already crossed ${nodeId} (visited: ${req.visited.join(', ')})` }
  }
  if (req.visited.length + 1 > policy.maxHops) {
    return {
      status: 'hop_limit',
      message: `${req.visited.length + 1} hops exceed this node's max_hops ${policy.maxHops}`,
    }
  }
  const [next] = req.remainingPath
  if (next !== undefined) {
    if (req.remainingHops === 0)
      return { status: 'hop_limit', message: 'no hops left to forward to the next peer' }
    if (next === nodeId || req.visited.includes(next) || req.remainingPath.indexOf(next, 1) > 0) {
      return { status: 'loop', message: `path would visit ${next} twice` }
    }
    if (!policy.peers.has(next))
      return { status: 'no_route', message: `next hop "${next}" is not a peer of ${nodeId}` }
    return undefined
  }
  if (req.target !== undefined && !policy.targetAllowed(req.target, issued)) {
    const hint = issued
      ? 'a path token reaches no further than mesh.allow_targets'
      : 'name it in a route or in mesh.allow_targets'
    return {
      status: 'target_not_allowed',
      message: `${nodeId} may not connect to ${req.target} (hint: ${hint})`,
    }
  }
  return undefined
}

/**
 * The targets a relay may connect to for others: every endpoint its routes name, and addresses in
 * `mesh.allow_targets`. With `allow_targets` set that is all, whatever a path token says: the
 * operator's list is a ceiling a scheduler cannot lift. Without it, a target a verified path token
 * names is allowed too (the scheduler authorised it). Nothing else: a mesh port is never an open relay.
 */
export function targetAllowList(
  routes: readonly RouteConfig[],
  allow: readonly AllowTarget[] | undefined,
): (target: string, issued: boolean) => boolean {
  const named = new Set<string>()
  for (const route of routes) {
    // A route to requested destinations names none: its `allow` is for its own clients, not for relays.
    const lists =
      route.target.kind === 'endpoints'
        ? [route.target.endpoints]
        : route.target.kind === 'mesh'
          ? route.target.paths.map((p) => p.endpoints ?? [])
          : []
    for (const list of lists) for (const e of list) named.add(e.address)
  }
  if (allow === undefined) return (target, issued) => issued || named.has(target)
  const inRanges = targetRanges(allow)
  return (target) => named.has(target) || inRanges(target)
}
