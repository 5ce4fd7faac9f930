/**
 * Whether a `host:port` target lies in a list of `CIDR[:port]` ranges (`mesh.allow_targets`,
 * `scheduler.allow_targets`). Only addresses can be in a range: a host name is in none, since what
 * it resolves to later is not what was checked.
 */
import { BlockList, isIP } from 'node:net'
import type { AllowTarget } from '../config/types.ts'
import { splitHostPort } from './host-port.ts'

export function targetRanges(allow: readonly AllowTarget[]): (target: string) => boolean {
  const ranges = allow.map((a) => ({ port: a.port, list: blockListOf(a) }))
  return (target) => {
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
