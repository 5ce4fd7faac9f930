/**
 * IP addresses as the PROXY protocol v2 carries them (4 or 16 bytes in network order) and as Node
 * shows them (dotted quad, RFC 5952 text). Inputs are addresses Node gave us or the codec checked
 * with isIPv4/isIPv6 first.
 */
import { isIPv4 } from 'node:net'

const MAPPED_PREFIX = '::ffff:'

/** An IPv4 address, also when Node shows it IPv4-mapped (`::ffff:127.0.0.1` on a dual-stack socket). */
export function asIpv4(address: string): string | undefined {
  if (isIPv4(address)) return address
  const lower = address.toLowerCase()
  if (lower.startsWith(MAPPED_PREFIX) && isIPv4(lower.slice(MAPPED_PREFIX.length))) {
    return lower.slice(MAPPED_PREFIX.length)
  }
  return undefined
}

export function ipv4Bytes(address: string): Buffer {
  return Buffer.from(address.split('.').map(Number))
}

export function formatIpv4(buf: Buffer, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`
}

/** 16 bytes of a valid IPv6 text address, `::` and a trailing dotted quad included. */
export function ipv6Bytes(address: string): Buffer {
  const out = Buffer.alloc(16)
  let text = address
  const quad = text.lastIndexOf(':')
  const tail = text.slice(quad + 1)
  const groups: number[] = []
  if (isIPv4(tail)) {
    const b = ipv4Bytes(tail)
    text = `${text.slice(0, quad + 1)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`
  }
  const [head = '', rest] = text.split('::')
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)))
  const left = parse(head)
  const right = rest === undefined ? [] : parse(rest)
  groups.push(...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right)
  for (const [i, g] of groups.entries()) out.writeUInt16BE(g, i * 2)
  return out
}

/** RFC 5952: lowercase, no leading zeros, the longest run of two or more zero groups as `::`. */
export function formatIpv6(buf: Buffer, at: number): string {
  const groups = Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(at + i * 2))
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':')
  if (bestStart < 0) return hex(groups)
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`
}
