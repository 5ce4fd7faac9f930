/**
 * SOCKS5 (RFC 1928), server side, CONNECT only, with username/password authentication (RFC 1929).
 * Pure and incremental like sni/client-hello.ts: given the bytes received so far, each decoder
 * says how many more it needs, what it read and how many bytes that took, or what is wrong.
 *
 *   greeting: VER 5 | NMETHODS u8 | METHODS u8[NMETHODS]
 *   userpass: VER 1 | ULEN u8 | UNAME | PLEN u8 | PASSWD
 *   request:  VER 5 | CMD u8 | RSV u8 | ATYP u8 | DST.ADDR | DST.PORT u16
 *             ATYP 1: 4 bytes IPv4 · 3: u8 length + domain name · 4: 16 bytes IPv6
 *   reply:    VER 5 | REP u8 | RSV 0 | ATYP 1 | BND.ADDR 0.0.0.0 | BND.PORT 0
 */
import type { Credentials, Destination } from './destination.ts'
import { readDestinationHost } from './destination.ts'

const VERSION = 5
const USERPASS_VERSION = 1
const COMMAND_CONNECT = 1
const ATYP_IPV4 = 1
const ATYP_DOMAIN = 3
const ATYP_IPV6 = 4
const REQUEST_HEAD_BYTES = 4

export const SOCKS_METHOD = { noAuth: 0x00, userPass: 0x02, noneAcceptable: 0xff } as const

export const SOCKS_REPLY = {
  succeeded: 0x00,
  generalFailure: 0x01,
  notAllowed: 0x02,
  networkUnreachable: 0x03,
  hostUnreachable: 0x04,
  connectionRefused: 0x05,
  commandNotSupported: 0x07,
  addressTypeNotSupported: 0x08,
} as const

export type SocksReplyCode = (typeof SOCKS_REPLY)[keyof typeof SOCKS_REPLY]

export type SocksDecoded<T> =
  | { readonly kind: 'need'; readonly bytes: number }
  | { readonly kind: 'value'; readonly value: T; readonly consumed: number }
  /** `reply`: the code to answer before closing; absent when the client speaks no SOCKS5 to answer in. */
  | { readonly kind: 'error'; readonly message: string; readonly reply?: SocksReplyCode }

const need = (bytes: number): SocksDecoded<never> => ({ kind: 'need', bytes })
const fail = (message: string, reply?: SocksReplyCode): SocksDecoded<never> =>
  reply === undefined ? { kind: 'error', message } : { kind: 'error', message, reply }

/** The authentication methods the client offers. */
export function decodeGreeting(buf: Buffer): SocksDecoded<readonly number[]> {
  if (buf.length < 1) return need(1)
  if (buf[0] !== VERSION) return fail(`version byte ${buf[0]} is not SOCKS5's 5`)
  if (buf.length < 2) return need(1)
  const count = buf[1] as number
  if (count === 0) return fail('the client offers no authentication method')
  const end = 2 + count
  if (buf.length < end) return need(end - buf.length)
  return { kind: 'value', value: [...buf.subarray(2, end)], consumed: end }
}

/** No authentication when the listener has no users; username/password when it has: nothing else. */
export function chooseMethod(offered: readonly number[], authRequired: boolean): number {
  const wanted = authRequired ? SOCKS_METHOD.userPass : SOCKS_METHOD.noAuth
  return offered.includes(wanted) ? wanted : SOCKS_METHOD.noneAcceptable
}

export function encodeMethodChoice(method: number): Buffer {
  return Buffer.from([VERSION, method])
}

export function decodeUserPass(buf: Buffer): SocksDecoded<Credentials> {
  if (buf.length < 1) return need(1)
  if (buf[0] !== USERPASS_VERSION) return fail(`username/password version ${buf[0]} is not 1`)
  if (buf.length < 2) return need(1)
  const passwordAt = 2 + (buf[1] as number)
  if (buf.length < passwordAt + 1) return need(passwordAt + 1 - buf.length)
  const end = passwordAt + 1 + (buf[passwordAt] as number)
  if (buf.length < end) return need(end - buf.length)
  const value = {
    name: buf.toString('utf8', 2, passwordAt),
    password: buf.toString('utf8', passwordAt + 1, end),
  }
  return { kind: 'value', value, consumed: end }
}

export function encodeAuthStatus(ok: boolean): Buffer {
  return Buffer.from([USERPASS_VERSION, ok ? 0 : 1])
}

export function decodeRequest(buf: Buffer): SocksDecoded<Destination> {
  if (buf.length < 1) return need(1)
  if (buf[0] !== VERSION) return fail(`request version byte ${buf[0]} is not SOCKS5's 5`)
  if (buf.length < 2) return need(1)
  if (buf[1] !== COMMAND_CONNECT) {
    return fail(`command ${buf[1]} is not CONNECT (1)`, SOCKS_REPLY.commandNotSupported)
  }
  if (buf.length < REQUEST_HEAD_BYTES) return need(REQUEST_HEAD_BYTES - buf.length)
  const atyp = buf[3]
  const addressBytes =
    atyp === ATYP_IPV4 ? 4 : atyp === ATYP_IPV6 ? 16 : atyp === ATYP_DOMAIN ? domainBytes(buf) : undefined
  if (addressBytes === undefined) {
    return fail(`address type ${atyp} is none of 1, 3, 4`, SOCKS_REPLY.addressTypeNotSupported)
  }
  if (addressBytes < 0) return need(1)
  const end = REQUEST_HEAD_BYTES + addressBytes + 2
  if (buf.length < end) return need(end - buf.length)
  const port = buf.readUInt16BE(end - 2)
  if (port === 0) return fail('destination port 0', SOCKS_REPLY.generalFailure)
  const host = hostOf(atyp as number, buf.subarray(REQUEST_HEAD_BYTES, end - 2))
  if (host === undefined) return fail('the domain name is not a host name', SOCKS_REPLY.hostUnreachable)
  return { kind: 'value', value: { host, port }, consumed: end }
}

/** The domain's length byte and the name; -1 while the length byte has not arrived. */
function domainBytes(buf: Buffer): number {
  const length = buf[REQUEST_HEAD_BYTES]
  return length === undefined ? -1 : 1 + length
}

function hostOf(atyp: number, address: Buffer): string | undefined {
  if (atyp === ATYP_IPV4) return address.join('.')
  if (atyp === ATYP_IPV6) return ipv6Text(address)
  const name = address.toString('latin1', 1)
  return name.startsWith('[') ? undefined : readDestinationHost(name)
}

/** The IPv6 address in its canonical (compressed) text form. */
function ipv6Text(bytes: Buffer): string {
  const groups: string[] = []
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16))
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1)
}

/** The reply; the bound address is not told (0.0.0.0:0), as clients of a CONNECT never need it. */
export function encodeReply(code: SocksReplyCode): Buffer {
  return Buffer.from([VERSION, code, 0, ATYP_IPV4, 0, 0, 0, 0, 0, 0])
}
