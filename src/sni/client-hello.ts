/**
 * The server name a TLS client asks for, read from its ClientHello without terminating TLS
 * (RFC 8446 §4.1.2, RFC 6066 §3). Pure: given the bytes received so far, it says how many more
 * it needs, or what it found. It never throws: bytes that are not a ClientHello, or one too large
 * to wait for, are answered as `not_tls`/`no_sni`, and the flow goes on without a server name.
 *
 *   record:    type u8 (22 handshake) | version u16 | length u16 | fragment
 *   handshake: type u8 (1 client_hello) | length u24 | version u16 | random (32)
 *              | session_id u8+ | cipher_suites u16+ | compression_methods u8+ | extensions u16+
 *   extension: type u16 (0 server_name) | length u16 | list u16+ of (type u8 (0 host_name) | name u16+)
 *
 * A ClientHello may span several records: their fragments are joined up to MAX_CLIENT_HELLO_BYTES.
 */

const RECORD_HEADER_BYTES = 5
const CONTENT_HANDSHAKE = 22
const HANDSHAKE_CLIENT_HELLO = 1
const EXTENSION_SERVER_NAME = 0
const NAME_TYPE_HOST = 0

/** Real ClientHellos, post-quantum key shares included, stay under 4 KiB; waiting for more is not worth it. */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024

export type ClientHelloScan =
  | { readonly kind: 'need'; readonly bytes: number }
  /** A ClientHello naming this server, lower-cased. */
  | { readonly kind: 'sni'; readonly serverName: string }
  /** A ClientHello without a server name, one too large, or one this parser cannot read. */
  | { readonly kind: 'no_sni' }
  /** The bytes do not start a TLS handshake: another protocol. */
  | { readonly kind: 'not_tls' }

const NO_SNI: ClientHelloScan = { kind: 'no_sni' }
const NOT_TLS: ClientHelloScan = { kind: 'not_tls' }

export function scanClientHello(buf: Buffer): ClientHelloScan {
  if (buf.length === 0) return { kind: 'need', bytes: 1 }
  if (buf[0] !== CONTENT_HANDSHAKE) return NOT_TLS
  const handshake = joinFragments(buf)
  if ('kind' in handshake) return handshake
  return parseHandshake(handshake.bytes)
}

/** The handshake bytes of the records so far, once they hold a whole handshake message. */
function joinFragments(buf: Buffer): ClientHelloScan | { readonly bytes: Buffer } {
  const fragments: Buffer[] = []
  let joined = 0
  let at = 0
  let wanted: number | undefined
  for (;;) {
    if (buf.length < at + RECORD_HEADER_BYTES)
      return { kind: 'need', bytes: at + RECORD_HEADER_BYTES - buf.length }
    if (buf[at] !== CONTENT_HANDSHAKE || buf[at + 1] !== 3) return at === 0 ? NOT_TLS : NO_SNI
    const length = buf.readUInt16BE(at + 3)
    const end = at + RECORD_HEADER_BYTES + length
    if (length === 0 || end > MAX_CLIENT_HELLO_BYTES + 4 * RECORD_HEADER_BYTES) return NO_SNI
    if (buf.length < end) return { kind: 'need', bytes: end - buf.length }
    fragments.push(buf.subarray(at + RECORD_HEADER_BYTES, end))
    joined += length
    at = end
    wanted ??= handshakeLength(fragments, joined)
    if (wanted === undefined) continue
    if (wanted > MAX_CLIENT_HELLO_BYTES) return NO_SNI
    if (joined >= wanted) return { bytes: Buffer.concat(fragments, joined).subarray(0, wanted) }
  }
}

/**
 * The whole handshake message's length (header included), once its 4-byte header has arrived.
 * Read once per scan, from the first four bytes only: joining every fragment again for each
 * record made a hello sent as many one-byte records cost cubic time.
 */
function handshakeLength(fragments: readonly Buffer[], joined: number): number | undefined {
  if (joined < 4) return undefined
  return 4 + Buffer.concat(fragments, 4).readUIntBE(1, 3)
}

function parseHandshake(msg: Buffer): ClientHelloScan {
  if (msg[0] !== HANDSHAKE_CLIENT_HELLO) return NOT_TLS
  const r = new Cursor(msg, 4)
  if (!r.skip(2 + 32) || !r.skipVector(1) || !r.skipVector(2) || !r.skipVector(1)) return NO_SNI
  if (r.atEnd()) return NO_SNI
  const extensions = r.vector(2)
  if (extensions === undefined) return NO_SNI
  const e = new Cursor(extensions, 0)
  while (!e.atEnd()) {
    const type = e.u16()
    const body = e.vector(2)
    if (type === undefined || body === undefined) return NO_SNI
    if (type === EXTENSION_SERVER_NAME) return serverNameOf(body)
  }
  return NO_SNI
}

function serverNameOf(body: Buffer): ClientHelloScan {
  const list = new Cursor(body, 0).vector(2)
  if (list === undefined) return NO_SNI
  const names = new Cursor(list, 0)
  while (!names.atEnd()) {
    const type = names.u8()
    const name = names.vector(2)
    if (type === undefined || name === undefined) return NO_SNI
    if (type === NAME_TYPE_HOST) return hostName(name)
  }
  return NO_SNI
}

/** RFC 6066: ASCII, no trailing dot; anything else is no name to route by. */
function hostName(bytes: Buffer): ClientHelloScan {
  if (bytes.length === 0 || bytes.length > 255) return NO_SNI
  for (const b of bytes) if (b <= 0x20 || b >= 0x7f) return NO_SNI
  const name = bytes.toString('latin1').toLowerCase()
  return name.endsWith('.') ? NO_SNI : { kind: 'sni', serverName: name }
}

/** Reads within one buffer; every read says undefined instead of running past the end. */
class Cursor {
  readonly #buf: Buffer
  #at: number

  constructor(buf: Buffer, at: number) {
    this.#buf = buf
    this.#at = at
  }

  atEnd(): boolean {
    return this.#at >= this.#buf.length
  }

  skip(n: number): boolean {
    if (this.#at + n > this.#buf.length) return false
    this.#at += n
    return true
  }

  u8(): number | undefined {
    return this.#at + 1 > this.#buf.length ? undefined : this.#buf[this.#at++]
  }

  u16(): number | undefined {
    if (this.#at + 2 > this.#buf.length) return undefined
    const v = this.#buf.readUInt16BE(this.#at)
    this.#at += 2
    return v
  }

  /** A vector with a `lengthBytes`-byte length prefix. */
  vector(lengthBytes: 1 | 2): Buffer | undefined {
    const length = lengthBytes === 1 ? this.u8() : this.u16()
    if (length === undefined || this.#at + length > this.#buf.length) return undefined
    const v = this.#buf.subarray(this.#at, this.#at + length)
    this.#at += length
    return v
  }

  skipVector(lengthBytes: 1 | 2): boolean {
    return this.vector(lengthBytes) !== undefined
  }
}
