/**
 * What a route's `target` (or each of its `paths`) names: endpoints reached directly, a peer that
 * routes the flow by its own routes (proxy chain), or endpoints reached through `via` peers.
 * Shared by validation (which reports the reason) and normalisation (which needs the value), so
 * both read targets the same way.
 */
import { readHostPort } from './address.ts'
import type { RouteDocument } from './schema.ts'
import type { EndpointConfig, MeshPathConfig, RouteTarget } from './types.ts'

export interface TargetProblem {
  /** Relative to the route, e.g. `['target', 1, 'address']` or `['paths', 0, 'target']`. */
  readonly at: readonly (string | number)[]
  readonly message: string
}

type TargetDocument = NonNullable<RouteDocument['target']>

export function resolveTarget(
  route: RouteDocument,
  peers: ReadonlySet<string>,
): { readonly value: RouteTarget } | TargetProblem {
  if (route.paths !== undefined) {
    if (route.target !== undefined || route.via !== undefined) {
      return { at: ['paths'], message: 'give either paths or target (with an optional via), not both' }
    }
    const paths: MeshPathConfig[] = []
    for (const [index, p] of route.paths.entries()) {
      const path = resolvePath(p.target, p.via ?? [], peers, ['paths', index, 'target'])
      if ('message' in path) return path
      paths.push(path.value)
    }
    return { value: { kind: 'mesh', paths } }
  }
  if (route.target === undefined) return requested(route)
  const path = resolvePath(route.target, route.via ?? [], peers, ['target'])
  if ('message' in path) return path
  const { via, endpoints } = path.value
  if (via.length === 0 && endpoints !== undefined) return { value: { kind: 'endpoints', endpoints } }
  return { value: { kind: 'mesh', paths: [path.value] } }
}

/** No target: a route with `allow` takes the client to the destination it asked for. */
function requested(route: RouteDocument): { readonly value: RouteTarget } | TargetProblem {
  if (route.allow === undefined) {
    return {
      at: [],
      message:
        'a route needs a target or paths (or allow, to take the clients of a handshake listener where they ask)',
    }
  }
  const via = route.via ?? []
  const twice = via.find((name, i) => via.indexOf(name) !== i)
  if (twice !== undefined) return { at: ['via'], message: `the path visits peer "${twice}" twice` }
  return { value: { kind: 'requested', via } }
}

function resolvePath(
  target: TargetDocument,
  via: readonly string[],
  peers: ReadonlySet<string>,
  at: readonly (string | number)[],
): { readonly value: MeshPathConfig } | TargetProblem {
  if (typeof target === 'string' && peers.has(target)) {
    const hops = [...via, target]
    const twice = hops.find((name, i) => hops.indexOf(name) !== i)
    if (twice !== undefined) return { at, message: `the path visits peer "${twice}" twice` }
    return { value: { via: hops } }
  }
  const items = typeof target === 'string' ? [target] : target
  const endpoints: EndpointConfig[] = []
  for (const [index, item] of items.entries()) {
    const address = typeof item === 'string' ? item : item.address
    const hp = readHostPort(address)
    if ('error' in hp) {
      return {
        at: typeof target === 'string' ? at : [...at, index],
        message: notFound(address, hp.error, peers),
      }
    }
    endpoints.push({
      address,
      host: hp.value.host,
      port: hp.value.port,
      weight: typeof item === 'string' ? 1 : item.weight,
    })
  }
  if (endpoints.every((e) => e.weight === 0)) {
    return { at, message: 'every endpoint has weight 0, so none can be picked' }
  }
  return { value: { via, endpoints } }
}

function notFound(text: string, hostPortError: string, peers: ReadonlySet<string>): string {
  if (text.includes(':')) return hostPortError
  const known = peers.size === 0 ? 'no peers are configured' : `peers: ${[...peers].join(', ')}`
  return `target "${text}" is neither host:port nor the name of a peer (${known})`
}
