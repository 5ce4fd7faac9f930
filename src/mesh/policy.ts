/**
 * What a node may do with an open request it received: pure checks, in the order a relay applies
 * them after authentication. Each refusal has its own status so the ingress (and the operator)
 * learns exactly why a path was refused.
 */

import { BlockList, isIP } from 'node:net'
import type { AllowTarget, RouteConfig } from '../config/types.ts'
import { splitHostPort } from '../util/host-port.ts'
import type { OpenRequest } from './request.ts'
import type { MeshStatus } from './wire.ts'

export interface Refusal {
  readonly status: MeshStatus
  readonly message: string
}

export interface RelayPolicy {
  readonly nodeId: string
  readonly maxHops: number
  readonly peers: ReadonlySet<string>
  readonly targetAllowed: (target: string) => boolean
}

/**
 * `issued`: the request carries a path token this node verified, so the scheduler has authorised
 * its target; otherwise the target must be one this node's own config allows.
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
  if (req.target !== undefined && !issued && !policy.targetAllowed(req.target)) {
    return {
      status: 'target_not_allowed',
      message: `${nodeId} may not connect to ${req.target} (hint: name it in a route or in mesh.allow_targets)`,
    }
  }
  return undefined
}

/**
 * The targets a relay may connect to for others: every endpoint its routes name, and addresses in
 * `mesh.allow_targets`. Nothing else: a mesh port is never an open relay.
 */
export function targetAllowList(
  routes: readonly RouteConfig[],
  allow: readonly AllowTarget[],
): (target: string) => boolean {
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
  const ranges = allow.map((a) => ({ port: a.port, list: blockListOf(a) }))
  return (target) => {
    if (named.has(target)) return true
    const { host, port } = splitHostPort(target)
    const family = isIP(host)
    if (family === 0) return false
    const type = family === 4 ? 'ipv4' : 'ipv6'
    return ranges.some((r) => (r.port === undefined || r.port === port) && r.list.check(host, type))
  }
}

function blockListOf(allow: AllowTarget): BlockList {
  const list = new BlockList()
  list.addSubnet(allow.cidr.address, allow.cidr.prefix, allow.cidr.family)
  return list
}
