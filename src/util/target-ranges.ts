/**
 * Whether a `host:port` target lies in a list of `CIDR[:port]` ranges (`mesh.allow_targets`,
 * `scheduler.allow_targets`). Only addresses can be in a range: a host name is in none, since what
 * it resolves to later is not what was checked.
 */
import { BlockList, isIP } from 'node:net'
import { splitHostPort } from './host-port.ts'

/** A `CIDR[:port]` entry, as the config gives it. */
export interface TargetRange {
  readonly cidr: { readonly address: string; readonly prefix: number; readonly family: 'ipv4' | 'ipv6' }
  readonly port?: number
}

export function targetRanges(allow: readonly TargetRange[]): (target: string) => boolean {
  const ranges = allow.map((a) => ({ port: a.port, list: blockListOf(a) }))
  return (target) => {
    const { host, port } = splitHostPort(target)
    const family = isIP(host)
    if (family === 0) return false
    const type = family === 4 ? 'ipv4' : 'ipv6'
    return ranges.some((r) => (r.port === undefined || r.port === port) && r.list.check(host, type))
  }
}

function blockListOf(allow: TargetRange): BlockList {
  const list = new BlockList()
  list.addSubnet(allow.cidr.address, allow.cidr.prefix, allow.cidr.family)
  return list
}
