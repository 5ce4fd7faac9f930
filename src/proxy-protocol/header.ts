/**
 * The PROXY protocol (versions 1 and 2, as HAProxy specifies it): a header a load balancer writes
 * first on a connection it opens, telling the server who the client really is.
 *
 * Decoding is incremental and bounded: it says how many more bytes it needs, decides from the
 * first bytes whether this can be a header at all, and never accepts more than MAX_HEADER_BYTES,
 * so a client that is not a load balancer is refused after a handful of bytes.
 */
import { isIPv4, isIPv6 } from 'node:net'
import { ProxyHeaderError } from '../errors/proxy-protocol.ts'
import { asIpv4, formatIpv4, formatIpv6, ipv4Bytes, ipv6Bytes } from './ip.ts'

export type ProxyProtocolVersion = 'v1' | 'v2'

/** The two ends of the client's own connection, as the load balancer saw them. */
export interface ProxiedAddresses {
  readonly sourceAddress: string
  readonly sourcePort: number
  readonly destinationAddress: string
  readonly destinationPort: number
}

/**
 * `addresses` is undefined for a header that carries none (v1 UNKNOWN, v2 LOCAL or an address
 * family other than IP): the connection's own addresses stand.
 */
export interface ProxyHeader {
  readonly version: ProxyProtocolVersion
  readonly addresses: ProxiedAddresses | undefined
}

export type DecodedProxyHeader =
  | { readonly header: ProxyHeader; readonly consumed: number }
  | { readonly need: number }

const V1_PREFIX = Buffer.from('PROXY ', 'latin1')
/** The longest v1 line, CRLF included ("PROXY TCP6 " and two full IPv6 addresses and ports). */
const V1_MAX_BYTES = 107
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a])
const V2_FIXED_BYTES = 16
/** Addresses plus TLVs (TLS details, unique ids, …): plenty for what load balancers send. */
export const MAX_HEADER_BYTES = 1024
const V2_COMMAND_LOCAL = 0x0
const V2_COMMAND_PROXY = 0x1
const V2_FAMILY_INET = 0x1
const V2_FAMILY_INET6 = 0x2
const V2_INET_BYTES = 12
const V2_INET6_BYTES = 36

/** The header at the start of `buf`, or how many more bytes are needed to tell. */
export function decodeProxyHeader(buf: Buffer): DecodedProxyHeader {
  if (startsLike(buf, V2_SIGNATURE)) return buf.length < V2_FIXED_BYTES ? { need: 1 } : decodeV2(buf)
  if (startsLike(buf, V1_PREFIX)) return decodeV1(buf)
  throw new ProxyHeaderError('start', `is ${describeStart(buf)}, not "PROXY " (v1) or the v2 signature`)
}

/** Whether the bytes so far agree with `prefix` (all of them, or the whole prefix). */
function startsLike(buf: Buffer, prefix: Buffer): boolean {
  const n = Math.min(buf.length, prefix.length)
  return buf.subarray(0, n).equals(prefix.subarray(0, n))
}

function describeStart(buf: Buffer): string {
  const head = buf.subarray(0, 8)
  return /^[\x20-\x7e]*$/.test(head.toString('latin1'))
    ? JSON.stringify(head.toString('latin1'))
    : `0x${head.toString('hex')}`
}

function decodeV1(buf: Buffer): DecodedProxyHeader {
  const end = buf.subarray(0, V1_MAX_BYTES).indexOf('\r\n')
  if (end < 0) {
    if (buf.length >= V1_MAX_BYTES)
      throw new ProxyHeaderError('v1 line', `has no CRLF in ${V1_MAX_BYTES} bytes`)
    return { need: 1 }
  }
  const parts = buf.subarray(0, end).toString('latin1').split(' ')
  const consumed = end + 2
  if (parts[1] === 'UNKNOWN') return { header: { version: 'v1', addresses: undefined }, consumed }
  if (parts[1] !== 'TCP4' && parts[1] !== 'TCP6')
    throw new ProxyHeaderError(
      'v1 protocol',
      `${JSON.stringify(parts[1] ?? '')} is not TCP4, TCP6 or UNKNOWN`,
    )
  if (parts.length !== 6)
    throw new ProxyHeaderError('v1 line', `has ${parts.length} fields, expected 6 for ${parts[1]}`)
  const valid = parts[1] === 'TCP4' ? isIPv4 : isIPv6
  const [, , source = '', destination = '', sourcePort = '', destinationPort = ''] = parts
  for (const [field, address] of [
    ['v1 source address', source],
    ['v1 destination address', destination],
  ] as const) {
    if (!valid(address)) throw new ProxyHeaderError(field, `${JSON.stringify(address)} is not ${parts[1]}`)
    // isIPv6 takes a zone index ("%eth0", any text): it names an interface of the sender's host
    // only, and text after it could pass for another address once re-encoded as 16 bytes.
    if (address.includes('%')) {
      throw new ProxyHeaderError(
        field,
        `${JSON.stringify(address)} has a zone index, which a PROXY header never carries`,
      )
    }
  }
  const addresses: ProxiedAddresses = {
    sourceAddress: source,
    sourcePort: v1Port('v1 source port', sourcePort),
    destinationAddress: destination,
    destinationPort: v1Port('v1 destination port', destinationPort),
  }
  return { header: { version: 'v1', addresses }, consumed }
}

function v1Port(field: string, text: string): number {
  const port = /^(0|[1-9]\d{0,4})$/.test(text) ? Number(text) : Number.NaN
  if (!(port <= 65_535)) throw new ProxyHeaderError(field, `${JSON.stringify(text)} is not a port`)
  return port
}

function decodeV2(buf: Buffer): DecodedProxyHeader {
  const versionCommand = buf[12] as number
  if (versionCommand >> 4 !== 2)
    throw new ProxyHeaderError('v2 version', `is ${versionCommand >> 4}, expected 2`)
  const command = versionCommand & 0x0f
  if (command !== V2_COMMAND_LOCAL && command !== V2_COMMAND_PROXY)
    throw new ProxyHeaderError('v2 command', `0x${command.toString(16)} is neither LOCAL nor PROXY`)
  const length = buf.readUInt16BE(14)
  const consumed = V2_FIXED_BYTES + length
  if (consumed > MAX_HEADER_BYTES)
    throw new ProxyHeaderError(
      'v2 length',
      `${length} exceeds the ${MAX_HEADER_BYTES - V2_FIXED_BYTES} bytes taken`,
    )
  if (buf.length < consumed) return { need: consumed - buf.length }
  if (command === V2_COMMAND_LOCAL) return { header: { version: 'v2', addresses: undefined }, consumed }
  const family = (buf[13] as number) >> 4
  const addresses = v2Addresses(buf, family, length)
  return { header: { version: 'v2', addresses }, consumed }
}

/** The address block of each IP family: its name, the width of one address, how to read one. */
const V2_IP_FAMILIES = new Map([
  [V2_FAMILY_INET, { name: 'IPv4', width: 4, format: formatIpv4 }],
  [V2_FAMILY_INET6, { name: 'IPv6', width: 16, format: formatIpv6 }],
])

function v2Addresses(buf: Buffer, family: number, length: number): ProxiedAddresses | undefined {
  const ip = V2_IP_FAMILIES.get(family)
  // UNSPEC, or a UNIX socket: nothing an IP route or log could use.
  if (ip === undefined) return undefined
  const needed = 2 * ip.width + 4
  if (length < needed)
    throw new ProxyHeaderError(`v2 ${ip.name} addresses`, `need ${needed} bytes, the header has ${length}`)
  const at = V2_FIXED_BYTES
  const ports = at + 2 * ip.width
  return {
    sourceAddress: ip.format(buf, at),
    destinationAddress: ip.format(buf, at + ip.width),
    sourcePort: buf.readUInt16BE(ports),
    destinationPort: buf.readUInt16BE(ports + 2),
  }
}

/**
 * The header to send before a flow's first byte. IPv4 ends (IPv4-mapped ones included) are sent as
 * IPv4 when both are; otherwise both as IPv6. No addresses: v1 UNKNOWN, v2 LOCAL.
 */
export function encodeProxyHeader(
  version: ProxyProtocolVersion,
  addresses: ProxiedAddresses | undefined,
): Buffer {
  if (addresses === undefined) {
    return version === 'v1'
      ? Buffer.from('PROXY UNKNOWN\r\n', 'latin1')
      : Buffer.concat([V2_SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])])
  }
  const source4 = asIpv4(addresses.sourceAddress)
  const destination4 = asIpv4(addresses.destinationAddress)
  const inet = source4 !== undefined && destination4 !== undefined
  const source = inet ? source4 : asIpv6(addresses.sourceAddress)
  const destination = inet ? destination4 : asIpv6(addresses.destinationAddress)
  if (version === 'v1') {
    const line = `PROXY ${inet ? 'TCP4' : 'TCP6'} ${source} ${destination} ${addresses.sourcePort} ${addresses.destinationPort}\r\n`
    return Buffer.from(line, 'latin1')
  }
  const body = Buffer.alloc(inet ? V2_INET_BYTES : V2_INET6_BYTES)
  const toBytes = inet ? ipv4Bytes : ipv6Bytes
  const width = inet ? 4 : 16
  toBytes(source).copy(body, 0)
  toBytes(destination).copy(body, width)
  body.writeUInt16BE(addresses.sourcePort, width * 2)
  body.writeUInt16BE(addresses.destinationPort, width * 2 + 2)
  const fixed = Buffer.from([0x21, ((inet ? V2_FAMILY_INET : V2_FAMILY_INET6) << 4) | 0x1, 0, 0])
  fixed.writeUInt16BE(body.length, 2)
  return Buffer.concat([V2_SIGNATURE, fixed, body])
}

/** An IPv4 end next to an IPv6 one travels IPv4-mapped. */
function asIpv6(address: string): string {
  return isIPv4(address) ? `::ffff:${address}` : address
}
