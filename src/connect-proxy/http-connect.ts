/**
 * HTTP CONNECT (RFC 9110 §9.3.6), proxy side. Pure and incremental: given the bytes received so
 * far, it says it needs more, what the request asks for and how long its header block is, or why
 * it is refused. Bytes after the header block (a client may send its TLS ClientHello at once)
 * belong to the tunnel: `consumed` stops before them.
 *
 *   CONNECT host:port HTTP/1.1 CRLF
 *   (Name: value CRLF)*            Proxy-Authorization: Basic base64(name:password) is read
 *   CRLF
 */
import type { Credentials, Destination } from './destination.ts'
import { readDestinationHost } from './destination.ts'

/** The request line and headers together: real clients send a few hundred bytes. */
export const MAX_CONNECT_REQUEST_BYTES = 8 * 1024

export interface HttpConnectRequest {
  readonly destination: Destination
  /** From `Proxy-Authorization: Basic`; absent when the client sent none. */
  readonly credentials?: Credentials
}

export type HttpConnectDecoded =
  | { readonly kind: 'need' }
  | { readonly kind: 'value'; readonly value: HttpConnectRequest; readonly consumed: number }
  | { readonly kind: 'error'; readonly message: string }

const METHOD = Buffer.from('CONNECT ')
const END = Buffer.from('\r\n\r\n')
const REQUEST_LINE = /^CONNECT ([^\s]+) HTTP\/1\.[01]$/
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const BASIC = /^basic[ \t]+([A-Za-z0-9+/=]+)$/i

export function decodeConnectRequest(buf: Buffer): HttpConnectDecoded {
  const head = Math.min(buf.length, METHOD.length)
  if (buf.compare(METHOD, 0, head, 0, head) !== 0) return fail('the request is not a CONNECT')
  const end = buf.indexOf(END)
  if (end < 0 || end + END.length > MAX_CONNECT_REQUEST_BYTES) {
    const whole = end >= 0 || buf.length >= MAX_CONNECT_REQUEST_BYTES
    return whole
      ? fail(`the header block is longer than ${MAX_CONNECT_REQUEST_BYTES} bytes`)
      : { kind: 'need' }
  }
  const [line = '', ...headers] = buf.toString('latin1', 0, end).split('\r\n')
  const target = REQUEST_LINE.exec(line)?.[1]
  if (target === undefined) return fail(`bad request line ${JSON.stringify(line.slice(0, 100))}`)
  const destination = readAuthority(target)
  if (destination === undefined) return fail(`${JSON.stringify(target.slice(0, 300))} is not host:port`)
  let credentials: Credentials | undefined
  for (const header of headers) {
    const field = readHeaderField(header)
    if (field === undefined) return fail(`bad header line ${JSON.stringify(header.slice(0, 100))}`)
    if (field.name.toLowerCase() !== 'proxy-authorization') continue
    credentials = basicCredentials(field.value)
    if (credentials === undefined) return fail('Proxy-Authorization is not Basic name:password')
  }
  const value = credentials === undefined ? { destination } : { destination, credentials }
  return { kind: 'value', value, consumed: end + END.length }
}

function fail(message: string): HttpConnectDecoded {
  return { kind: 'error', message }
}

/** `host:port`, `[v6]:port`; the port is required (CONNECT has no default). */
function readAuthority(text: string): Destination | undefined {
  const colon = text.lastIndexOf(':')
  if (colon <= 0) return undefined
  const portText = text.slice(colon + 1)
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0
  const hostText = text.slice(0, colon)
  if (port < 1 || port > 65535 || (hostText.includes(':') && !hostText.startsWith('['))) return undefined
  const host = readDestinationHost(hostText)
  return host === undefined ? undefined : { host, port }
}

/**
 * `Name: value` with the blanks around the value dropped; a value holding CR or LF is refused.
 * Written without a regular expression: a pattern trimming blanks on both sides of a lazy value
 * backtracks cubically on a long run of blanks that ends in a bare LF: 2.5 s for 2 KiB, minutes
 * for the 8 KiB a client may send.
 */
function readHeaderField(line: string): { name: string; value: string } | undefined {
  const colon = line.indexOf(':')
  const name = line.slice(0, colon)
  if (colon < 0 || !HEADER_NAME.test(name)) return undefined
  let start = colon + 1
  let end = line.length
  while (start < end && isBlank(line.charCodeAt(start))) start++
  while (end > start && isBlank(line.charCodeAt(end - 1))) end--
  const value = line.slice(start, end)
  return value.includes('\r') || value.includes('\n') ? undefined : { name, value }
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09
}

function basicCredentials(value: string): Credentials | undefined {
  const encoded = BASIC.exec(value)?.[1]
  if (encoded === undefined) return undefined
  const decoded = Buffer.from(encoded, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return undefined
  return { name: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

export type HttpConnectStatus = 200 | 400 | 403 | 407 | 502 | 504

const REASONS: Readonly<Record<HttpConnectStatus, string>> = {
  200: 'Connection established',
  400: 'Bad Request',
  403: 'Forbidden',
  407: 'Proxy Authentication Required',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
}

/** A refusal closes the connection: it says so, with an empty body. */
export function encodeHttpReply(status: HttpConnectStatus): Buffer {
  if (status === 200) return Buffer.from(`HTTP/1.1 200 ${REASONS[200]}\r\n\r\n`, 'latin1')
  const challenge = status === 407 ? 'Proxy-Authenticate: Basic realm="dynproxy"\r\n' : ''
  return Buffer.from(
    `HTTP/1.1 ${status} ${REASONS[status]}\r\n${challenge}Content-Length: 0\r\nConnection: close\r\n\r\n`,
    'latin1',
  )
}
