/**
 * CIDR lists compiled once into a `net.BlockList`, and the one way to ask them about a client's
 * address: a dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d, which IPv4 ranges must
 * match too.
 */
import { BlockList, isIPv4 } from 'node:net'

const V4_MAPPED_PREFIX = '::ffff:'

export function addressListOf(cidrs: readonly string[]): BlockList {
  const list = new BlockList()
  for (const cidr of cidrs) {
    const [network = '', prefix] = cidr.split('/')
    const family = isIPv4(network) ? 'ipv4' : 'ipv6'
    const bits = prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix)
    list.addSubnet(network, bits, family)
  }
  return list
}

export function inAddressList(list: BlockList, ip: string): boolean {
  if (ip.startsWith(V4_MAPPED_PREFIX)) {
    const v4 = ip.slice(V4_MAPPED_PREFIX.length)
    if (isIPv4(v4) && list.check(v4, 'ipv4')) return true
  }
  return list.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6')
}
