/**
 * Path tokens as relays see them: the scheduler signs the path it chose (src/scheduler/token.ts)
 * and every relay checks that the request it received follows that path. Layout, integers
 * big-endian:
 *
 *   version u8 (1 or 2) | expires_at u64 (ms since the epoch)
 *   | route: len u8 + UTF-8 (1..255)
 *   | nodes: count u8 (1..64), each len u8 + UTF-8 (1..255), ingress … egress, no repeats
 *   | targets: count u8 (0..64), each len u16 + UTF-8 (1..261)
 *   version 2 only, the token's place in the batch its signature covers (path-token-tree.ts):
 *   | leaf_count u8 (1..64) | leaf_index u8 | proof: count u8, each 32 bytes
 *   | Ed25519 signature (64)
 *
 * Version 1 signs PATH_TOKEN_CONTEXT ‖ every byte before the signature. Version 2 signs
 * PATH_TOKEN_TREE_CONTEXT ‖ leaf_count ‖ the tree's root, the leaf being the bytes up to the
 * targets' end: one signature for a batch of tokens, which is what a scheduler pushing to
 * thousands of nodes can afford. The scheduler issues version 2; version 1 is still accepted,
 * for sets cached before it did.
 *
 * Verification never throws: anything it cannot parse is 'malformed'.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto'
import { PathTokenKeyError } from '../../errors/paths.ts'
import {
  MAX_LIST_ENTRIES,
  MAX_NAME_BYTES,
  MAX_PATH_TOKEN_BYTES,
  MAX_TARGET_BYTES,
} from '../wire/constants.ts'
import { leafHash, rootFromProof, TREE_HASH_BYTES, TREE_MAX_LEAVES } from './path-token-tree.ts'

/** What the scheduler issues; version 1 (one signature per token) is still verified. */
export const PATH_TOKEN_VERSION = 2
const SINGLE_TOKEN_VERSION = 1
export const PATH_TOKEN_SIGNATURE_BYTES = 64
export const PATH_TOKEN_MAX_BYTES = MAX_PATH_TOKEN_BYTES
export const PATH_TOKEN_MAX_NODES = MAX_LIST_ENTRIES
export const PATH_TOKEN_MAX_TARGETS = MAX_LIST_ENTRIES
export const PATH_TOKEN_MAX_NAME_BYTES = MAX_NAME_BYTES
export const PATH_TOKEN_MAX_TARGET_BYTES = MAX_TARGET_BYTES
/** Signed before the body so that a path token signature can never pass for another message's. */
export const PATH_TOKEN_CONTEXT = Buffer.from('dynproxy path token\u0000', 'latin1')
/** The same for a version 2 batch's root: it can pass neither for a token body nor for anything else. */
export const PATH_TOKEN_TREE_CONTEXT = Buffer.from('dynproxy path token tree\u0000', 'latin1')

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

/**
 * Tokens whose signature verified under one key, so that the flows of a path, which all carry the
 * same token, pay for the signature once. Bounded: the oldest are forgotten first. A token is
 * still checked for expiry and for the path on every flow.
 */
export class VerifiedTokens {
  readonly #capacity: number
  readonly #tokens = new Set<string>()
  #key: KeyObject | undefined

  constructor(capacity = 4096) {
    this.#capacity = capacity
  }

  has(key: KeyObject, token: Buffer): boolean {
    return this.#key === key && this.#tokens.has(token.toString('latin1'))
  }

  add(key: KeyObject, token: Buffer): void {
    if (this.#key !== key) {
      this.#tokens.clear()
      this.#key = key
    }
    this.#tokens.add(token.toString('latin1'))
    if (this.#tokens.size > this.#capacity) this.#tokens.delete(this.#tokens.values().next().value as string)
  }
}

export function verifyPathToken(
  token: Buffer,
  publicKey: KeyObject,
  check: PathTokenCheck,
  verified?: VerifiedTokens,
): PathTokenVerdict {
  const decoded = decodePathToken(token)
  if (!decoded) return 'malformed'
  if (verified?.has(publicKey, token) !== true) {
    const message = signedMessage(token, decoded)
    if (message === undefined) return 'malformed'
    if (!signatureValid(message, token.subarray(token.length - PATH_TOKEN_SIGNATURE_BYTES), publicKey)) {
      return 'forged'
    }
    verified?.add(publicKey, token)
  }
  const { claims } = decoded
  if (!(check.now < claims.expiresAt)) return 'expired'
  return followsPath(claims, check) ? 'ok' : 'not_on_path'
}

/** What the signature covers; undefined when a version 2 proof does not fit its place in the tree. */
function signedMessage(token: Buffer, decoded: DecodedPathToken): Buffer | undefined {
  const body = token.subarray(0, decoded.bodyLength)
  if (decoded.tree === undefined) return Buffer.concat([PATH_TOKEN_CONTEXT, body])
  const { leafCount, leafIndex, proof } = decoded.tree
  const root = rootFromProof(leafHash(body), leafIndex, leafCount, proof)
  return root && Buffer.concat([PATH_TOKEN_TREE_CONTEXT, Buffer.of(leafCount), root])
}

function signatureValid(message: Buffer, signature: Buffer, publicKey: KeyObject): boolean {
  if (publicKey.asymmetricKeyType !== 'ed25519') return false
  try {
    return verify(null, message, publicKey, signature)
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

// ignoreBOM keeps a leading U+FEFF: dropping it would read two different names as one.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** A version 2 token's place in its batch. */
export interface TokenTreePlace {
  readonly leafCount: number
  readonly leafIndex: number
  readonly proof: readonly Buffer[]
}

export interface DecodedPathToken {
  readonly claims: PathTokenClaims
  /** Bytes from the version to the targets' end: what a version 2 leaf hashes. */
  readonly bodyLength: number
  /** Version 2 only. */
  readonly tree?: TokenTreePlace
}

/** The claims of a well-formed token, unverified: for logs and for `verifyPathToken`. */
export function decodePathToken(token: Buffer): DecodedPathToken | undefined {
  if (!Buffer.isBuffer(token) || token.length > PATH_TOKEN_MAX_BYTES) return undefined
  const version = token[0]
  if (version !== SINGLE_TOKEN_VERSION && version !== PATH_TOKEN_VERSION) return undefined
  if (token.length < 10 + PATH_TOKEN_SIGNATURE_BYTES) return undefined
  const reader = new Reader(token.subarray(0, token.length - PATH_TOKEN_SIGNATURE_BYTES))
  try {
    const expiresAt = reader.u64()
    const route = reader.string(1, PATH_TOKEN_MAX_NAME_BYTES, 1)
    const nodes = reader.list(1, PATH_TOKEN_MAX_NODES, () => reader.string(1, PATH_TOKEN_MAX_NAME_BYTES, 1))
    const targets = reader.list(0, PATH_TOKEN_MAX_TARGETS, () =>
      reader.string(1, PATH_TOKEN_MAX_TARGET_BYTES, 2),
    )
    const bodyLength = reader.offset
    const tree = version === PATH_TOKEN_VERSION ? readTreePlace(reader) : undefined
    if (!reader.atEnd() || new Set(nodes).size !== nodes.length) return undefined
    return { claims: { route, nodes, targets, expiresAt }, bodyLength, ...(tree && { tree }) }
  } catch {
    return undefined
  }
}

function readTreePlace(reader: Reader): TokenTreePlace {
  const leafCount = reader.u8()
  const leafIndex = reader.u8()
  if (leafCount < 1 || leafCount > TREE_MAX_LEAVES || leafIndex >= leafCount) throw new Error('bad tree')
  const count = reader.u8()
  const proof = Array.from({ length: count }, () => reader.bytes(TREE_HASH_BYTES))
  return { leafCount, leafIndex, proof }
}

/** Reads the body after the version byte; throws a plain Error on any overrun, caught above. */
class Reader {
  readonly #buf: Buffer
  #off = 1

  constructor(buf: Buffer) {
    this.#buf = buf
  }

  get offset(): number {
    return this.#off
  }

  u8(): number {
    const value = this.#buf.readUInt8(this.#off)
    this.#off += 1
    return value
  }

  bytes(length: number): Buffer {
    if (this.#off + length > this.#buf.length) throw new Error('bad length')
    const value = this.#buf.subarray(this.#off, this.#off + length)
    this.#off += length
    return value
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
