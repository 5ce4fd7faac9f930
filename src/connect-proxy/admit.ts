/**
 * Whether a route may take a client to the destination it asked for, and where to dial: the
 * rule of allow.ts applied, with the one DNS lookup it may need. The address a name resolved to
 * is what gets dialled, so the check and the connect see the same address.
 */
import { lookup as dnsLookup } from 'node:dns/promises'
import type { RouteConfig } from '../config/types.ts'
import { ConnectProxyNotAllowedError, UpstreamUnavailableError } from '../errors/index.ts'
import { formatHostPort } from '../util/host-port.ts'
import { compileAllow, type DestinationFilter } from './allow.ts'
import type { Destination } from './destination.ts'

/** One address for a name, as the system resolver gives it. */
export type Lookup = (host: string) => Promise<string>

export type Admission = { readonly dial: Destination } | { readonly refusal: ConnectProxyNotAllowedError }

const systemLookup: Lookup = async (host) => (await dnsLookup(host)).address

/** Compiled once per route config (configs are frozen and live as long as their route). */
const filters = new WeakMap<object, DestinationFilter>()

export async function admitDestination(
  route: Pick<RouteConfig, 'name' | 'allow' | 'target'>,
  destination: Destination,
  lookup: Lookup = systemLookup,
): Promise<Admission> {
  const named = formatHostPort(destination.host, destination.port)
  const refuse = (why: string) => ({ refusal: new ConnectProxyNotAllowedError(route.name, named, why) })
  if (route.allow === undefined) return refuse('the route has no allow list')
  const filter = filterOf(route.allow)
  const verdict = filter.check(destination.host, destination.port)
  if (verdict === 'allowed') return { dial: destination }
  if (verdict === 'denied') return refuse('no allow entry covers it')
  if (route.target.kind === 'requested' && route.target.via.length > 0) {
    return refuse('through peers a name must match a host entry of allow (the egress resolves it)')
  }
  let address: string
  try {
    address = await lookup(destination.host)
  } catch (cause) {
    throw new UpstreamUnavailableError(route.name, [{ endpoint: named, reason: 'dns' }], { cause })
  }
  if (!filter.allowsAddress(address, destination.port)) {
    return refuse(`it resolves to ${address}, which no allow range covers`)
  }
  return { dial: { host: address, port: destination.port } }
}

function filterOf(allow: NonNullable<RouteConfig['allow']>): DestinationFilter {
  let filter = filters.get(allow)
  if (filter === undefined) {
    filter = compileAllow(allow)
    filters.set(allow, filter)
  }
  return filter
}
