/**
 * Path tokens as relays see them: the scheduler signs the path it chose (src/scheduler/token.ts)
 * and every relay checks that the request it received follows that path. Layout, version 1:
 *
 *   version u8 (1) | expires_at u64 BE (ms since the epoch)
 *   | route: len u8 + UTF-8 (1..255)
 *   | nodes: count u8 (1..64), each len u8 + UTF-8 (1..255), ingress … egress, no repeats
 *   | targets: count u8 (0..64), each len u16 BE + UTF-8 (1..261)
 *   | Ed25519 signature (64) over PATH_TOKEN_CONTEXT ‖ every byte before it
 *
 * Verification never throws: anything it cannot parse is 'malformed'.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto'
import { PathTokenKeyError } from '../errors/paths.ts'
import { MAX_LIST_ENTRIES, MAX_NAME_BYTES, MAX_PATH_TOKEN_BYTES, MAX_TARGET_BYTES } from './wire.ts'

export const PATH_TOKEN_VERSION = 1
export const PATH_TOKEN_SIGNATURE_BYTES = 64
export const PATH_TOKEN_MAX_BYTES = MAX_PATH_TOKEN_BYTES
export const PATH_TOKEN_MAX_NODES = MAX_LIST_ENTRIES
export const PATH_TOKEN_MAX_TARGETS = MAX_LIST_ENTRIES
export const PATH_TOKEN_MAX_NAME_BYTES = MAX_NAME_BYTES
export const PATH_TOKEN_MAX_TARGET_BYTES = MAX_TARGET_BYTES
/** Signed before the body so that a path token signature can never pass for another message's. */
export const PATH_TOKEN_CONTEXT = Buffer.from('dynproxy path token\u0000', 'latin1')

export interface PathTokenClaims {
  /** The route (policy) id the path serves. */
  readonly route: string
  /** Node ids from the ingress to the egress. */
  readonly nodes: readonly string[]
  /** `host:port` the egress may connect to; empty: the egress routes by its own routes. */
  readonly targets: readonly string[]
  /** Milliseconds since the epoch; the token is refused from this instant on. */
  readonly expiresAt: number
}

export type PathTokenVerdict = 'ok' | 'forged' | 'expired' | 'not_on_path' | 'malformed'

export interface PathTokenCheck {
  /** This relay's node id. */
  readonly nodeId: string
  /** The request's remaining path: the nodes after this one. */
  readonly remainingPath: readonly string[]
  /** The request's final target, when it names one. */
  readonly target?: string
  /** The node that sent the request, when known: it must be the one before this relay. */
  readonly previousNode?: string
  readonly now: number
}

/** The public key as the scheduler exports it: base64 of the raw 32 bytes. Throws when it is not. */
export function importPublicKey(base64: string): KeyObject {
  const raw = Buffer.from(base64, 'base64')
  if (raw.length !== 32 || raw.toString('base64') !== base64.trim()) {
    throw new PathTokenKeyError(`public key ${JSON.stringify(base64)}`, 'is not base64 of 32 bytes')
  }
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' })
}

export function verifyPathToken(
  token: Buffer,
  publicKey: KeyObject,
  check: PathTokenCheck,
): PathTokenVerdict {
  const decoded = decodePathToken(token)
  if (!decoded) return 'malformed'
  if (!signatureValid(token, decoded.bodyLength, publicKey)) return 'forged'
  const { claims } = decoded
  if (!(check.now < claims.expiresAt)) return 'expired'
  return followsPath(claims, check) ? 'ok' : 'not_on_path'
}

function signatureValid(token: Buffer, bodyLength: number, publicKey: KeyObject): boolean {
  if (publicKey.asymmetricKeyType !== 'ed25519') return false
  const message = Buffer.concat([PATH_TOKEN_CONTEXT, token.subarray(0, bodyLength)])
  try {
    return verify(null, message, publicKey, token.subarray(bodyLength))
  } catch {
    return false
  }
}

function followsPath(claims: PathTokenClaims, check: PathTokenCheck): boolean {
  const at = claims.nodes.indexOf(check.nodeId)
  // The ingress is index 0 and never receives a mesh request for its own path.
  if (at < 1) return false
  if (check.previousNode !== undefined && claims.nodes[at - 1] !== check.previousNode) return false
  const rest = claims.nodes.slice(at + 1)
  if (rest.length !== check.remainingPath.length) return false
  if (!rest.every((id, i) => id === check.remainingPath[i])) return false
  return check.target === undefined || claims.targets.includes(check.target)
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** The claims of a well-formed token, unverified: for logs and for `verifyPathToken`. */
export function decodePathToken(token: Buffer): { claims: PathTokenClaims; bodyLength: number } | undefined {
  if (!Buffer.isBuffer(token) || token.length > PATH_TOKEN_MAX_BYTES) return undefined
  const bodyLength = token.length - PATH_TOKEN_SIGNATURE_BYTES
  if (bodyLength < 10 || token[0] !== PATH_TOKEN_VERSION) return undefined
  const reader = new Reader(token.subarray(0, bodyLength))
  try {
    const expiresAt = reader.u64()
    const route = reader.string(1, PATH_TOKEN_MAX_NAME_BYTES, 1)
    const nodes = reader.list(1, PATH_TOKEN_MAX_NODES, () => reader.string(1, PATH_TOKEN_MAX_NAME_BYTES, 1))
    const targets = reader.list(0, PATH_TOKEN_MAX_TARGETS, () =>
      reader.string(1, PATH_TOKEN_MAX_TARGET_BYTES, 2),
    )
    if (!reader.atEnd() || new Set(nodes).size !== nodes.length) return undefined
    return { claims: { route, nodes, targets, expiresAt }, bodyLength }
  } catch {
    return undefined
  }
}

/** Reads the body after the version byte; throws a plain Error on any overrun, caught above. */
class Reader {
  readonly #buf: Buffer
  #off = 1

  constructor(buf: Buffer) {
    this.#buf = buf
  }

  u64(): number {
    const value = this.#buf.readBigUInt64BE(this.#off)
    this.#off += 8
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('expires_at out of range')
    return Number(value)
  }

  string(min: number, max: number, lengthBytes: 1 | 2): string {
    const length = lengthBytes === 1 ? this.#buf.readUInt8(this.#off) : this.#buf.readUInt16BE(this.#off)
    this.#off += lengthBytes
    if (length < min || length > max || this.#off + length > this.#buf.length) throw new Error('bad length')
    const text = utf8.decode(this.#buf.subarray(this.#off, this.#off + length))
    this.#off += length
    return text
  }

  list(min: number, max: number, item: () => string): string[] {
    const count = this.#buf.readUInt8(this.#off)
    this.#off += 1
    if (count < min || count > max) throw new Error('bad count')
    return Array.from({ length: count }, item)
  }

  atEnd(): boolean {
    return this.#off === this.#buf.length
  }
}
