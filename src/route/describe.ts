import type { EndpointConfig, MeshPathConfig, RouteTarget } from '../config/types.ts'

/** A route target as one line for humans: status pages and error messages. */
export function describeTarget(target: RouteTarget): string {
  if (target.kind === 'endpoints') return describeEndpoints(target.endpoints)
  if (target.kind === 'requested') return [...target.via, REQUESTED].join(' → ')
  return target.paths.map(describePath).join(' | ')
}

/** Where a route without a target sends a handshake listener's flow. */
const REQUESTED = 'the requested destination'

export function describePath(path: MeshPathConfig): string {
  const end = path.endpoints ? describeEndpoints(path.endpoints) : 'its routes'
  return path.via.length === 0 ? end : `${path.via.join(' → ')} → ${end}`
}

function describeEndpoints(endpoints: readonly EndpointConfig[]): string {
  return endpoints.map((e) => e.address).join(', ')
}
