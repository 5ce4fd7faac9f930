import type { EndpointConfig, MeshPathConfig, RouteTarget } from '../config/types.ts'

/** A route target as one line for humans: status pages and error messages. */
export function describeTarget(target: RouteTarget): string {
  if (target.kind === 'endpoints') return describeEndpoints(target.endpoints)
  return target.paths.map(describePath).join(' | ')
}

export function describePath(path: MeshPathConfig): string {
  const end = path.endpoints ? describeEndpoints(path.endpoints) : 'its routes'
  return path.via.length === 0 ? end : `${path.via.join(' → ')} → ${end}`
}

function describeEndpoints(endpoints: readonly EndpointConfig[]): string {
  return endpoints.map((e) => e.address).join(', ')
}
