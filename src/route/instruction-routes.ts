/**
 * Scheduler instructions as routes: each instruction route becomes a RouteConfig that the same
 * route runtimes execute as configured routes. Pure.
 */

import type { EndpointConfig, MeshPathConfig, RouteConfig } from '../config/types.ts'
import type { InstructionPath, InstructionRoute, InstructionTarget } from '../instructions/types.ts'
import { splitHostPort } from '../util/host-port.ts'

/** What a configured route would default to; instructions carry no such settings. */
export const INSTRUCTION_ROUTE_DEFAULTS = {
  lb: 'round_robin',
  connectTimeoutMs: 5000,
  retries: 2,
  outlierDetection: {
    consecutiveFailures: 5,
    baseEjectionMs: 30_000,
    maxEjectionMs: 300_000,
    maxEjectedPercent: 50,
  },
} as const satisfies Pick<RouteConfig, 'lb' | 'connectTimeoutMs' | 'retries' | 'outlierDetection'>

export function instructionRouteConfig(route: InstructionRoute): RouteConfig {
  const [only] = route.paths
  const direct = route.paths.length === 1 && only !== undefined && only.hops.length === 0
  return {
    name: route.name,
    match: route.match,
    target: direct
      ? { kind: 'endpoints', endpoints: endpointsOf(only.targets) }
      : { kind: 'mesh', paths: route.paths.map(meshPath) },
    ...(route.multipath !== undefined && !direct && { multipath: route.multipath }),
    ...INSTRUCTION_ROUTE_DEFAULTS,
  }
}

function meshPath(path: InstructionPath): MeshPathConfig {
  return {
    via: path.hops,
    ...(path.targets.length > 0 && { endpoints: endpointsOf(path.targets) }),
    ...(path.token && { token: path.token }),
    weight: path.weight,
  }
}

function endpointsOf(targets: readonly InstructionTarget[]): EndpointConfig[] {
  return targets.map((t) => ({ address: t.address, ...splitHostPort(t.address), weight: t.weight }))
}
