/**
 * What a route's `target` names: a peer (proxy chain), or endpoints reached directly or through
 * `via` peers. Shared by validation (which reports the reason) and normalisation (which needs the
 * value), so both read targets the same way.
 */
import { readHostPort } from './address.ts'
import type { RouteDocument } from './schema.ts'
import type { EndpointConfig, RouteTarget } from './types.ts'

export interface TargetProblem {
  /** Relative to the route's `target` key, e.g. `[1, 'address']`. */
  readonly at: readonly (string | number)[]
  readonly message: string
}

export function resolveTarget(
  route: RouteDocument,
  peers: ReadonlySet<string>,
): { readonly value: RouteTarget } | TargetProblem {
  const { target, via } = route
  if (typeof target === 'string' && peers.has(target)) {
    if (via)
      return { at: [], message: `with via, target must be host:port endpoints, got the peer "${target}"` }
    return { value: { kind: 'peer', peer: target } }
  }
  const items = typeof target === 'string' ? [target] : target
  const endpoints: EndpointConfig[] = []
  for (const [index, item] of items.entries()) {
    const address = typeof item === 'string' ? item : item.address
    const hp = readHostPort(address)
    if ('error' in hp)
      return { at: typeof target === 'string' ? [] : [index], message: notFound(address, hp.error, peers) }
    endpoints.push({
      address,
      host: hp.value.host,
      port: hp.value.port,
      weight: typeof item === 'string' ? 1 : item.weight,
    })
  }
  return { value: via ? { kind: 'via', via, endpoints } : { kind: 'endpoints', endpoints } }
}

function notFound(text: string, hostPortError: string, peers: ReadonlySet<string>): string {
  if (text.includes(':')) return hostPortError
  const known = peers.size === 0 ? 'no peers are configured' : `peers: ${[...peers].join(', ')}`
  return `target "${text}" is neither host:port nor the name of a peer (${known})`
}
