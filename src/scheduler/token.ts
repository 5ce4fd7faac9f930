/**
 * The scheduler's side of path tokens: one Ed25519 key pair signs every path it issues; relays
 * hold the public key and check tokens with `verifyPathToken` (src/mesh/path-token.ts, which also
 * documents the layout).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import { PathTokenClaimError, PathTokenKeyError, PathTokenTooLargeError } from '../errors/paths.ts'
import {
  PATH_TOKEN_CONTEXT,
  PATH_TOKEN_MAX_BYTES,
  PATH_TOKEN_MAX_NAME_BYTES,
  PATH_TOKEN_MAX_NODES,
  PATH_TOKEN_MAX_TARGET_BYTES,
  PATH_TOKEN_MAX_TARGETS,
  PATH_TOKEN_SIGNATURE_BYTES,
  PATH_TOKEN_VERSION,
  type PathTokenClaims,
} from '../mesh/path-token.ts'

export type { PathTokenClaims } from '../mesh/path-token.ts'

export interface SigningKey {
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
}

export function generateSigningKey(): SigningKey {
  return generateKeyPairSync('ed25519')
}

/** Base64 of the raw 32-byte public key: what relays are configured with. */
export function exportPublicKey(publicKey: KeyObject): string {
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw new PathTokenKeyError(
      'public key',
      `is ${publicKey.asymmetricKeyType ?? 'a secret key'}, not Ed25519`,
    )
  }
  const { x } = (publicKey.type === 'public' ? publicKey : createPublicKey(publicKey)).export({
    format: 'jwk',
  })
  return Buffer.from(x ?? '', 'base64url').toString('base64')
}

/** PKCS#8 PEM, for the scheduler's store: a restarted scheduler keeps signing with the same key. */
export function exportPrivateKey(privateKey: KeyObject): string {
  if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private') {
    throw new PathTokenKeyError('private key', 'is not an Ed25519 private key')
  }
  return privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
}

/** The key pair back from `exportPrivateKey`'s PEM. */
export function importPrivateKey(pem: string): SigningKey {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(pem)
  } catch (cause) {
    throw new PathTokenKeyError('private key', 'is not a PEM private key', { cause })
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new PathTokenKeyError('private key', `is ${privateKey.asymmetricKeyType}, not Ed25519`)
  }
  return { privateKey, publicKey: createPublicKey(privateKey) }
}

/** The signed token: body, then the 64-byte signature. Throws when a claim cannot be encoded. */
export function signPathToken(claims: PathTokenClaims, privateKey: KeyObject): Buffer {
  const body = encodeClaims(claims)
  const size = body.length + PATH_TOKEN_SIGNATURE_BYTES
  if (size > PATH_TOKEN_MAX_BYTES) throw new PathTokenTooLargeError(size, PATH_TOKEN_MAX_BYTES)
  if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private') {
    throw new PathTokenKeyError('signing key', 'is not an Ed25519 private key')
  }
  const signature = sign(null, Buffer.concat([PATH_TOKEN_CONTEXT, body]), privateKey)
  return Buffer.concat([body, signature])
}

function encodeClaims(claims: PathTokenClaims): Buffer {
  const { expiresAt, nodes, targets } = claims
  if (!(Number.isSafeInteger(expiresAt) && expiresAt >= 0)) {
    throw new PathTokenClaimError('expiresAt', `${expiresAt} is not milliseconds since the epoch`)
  }
  countIn('nodes', nodes, 1, PATH_TOKEN_MAX_NODES)
  countIn('targets', targets, 0, PATH_TOKEN_MAX_TARGETS)
  if (new Set(nodes).size !== nodes.length) {
    throw new PathTokenClaimError('nodes', `${JSON.stringify(nodes)} repeats a node: a path never loops`)
  }
  const head = Buffer.alloc(9)
  head[0] = PATH_TOKEN_VERSION
  head.writeBigUInt64BE(BigInt(expiresAt), 1)
  return Buffer.concat([
    head,
    text('route', claims.route, PATH_TOKEN_MAX_NAME_BYTES, 1),
    Buffer.of(nodes.length),
    ...nodes.map((id, i) => text(`nodes[${i}]`, id, PATH_TOKEN_MAX_NAME_BYTES, 1)),
    Buffer.of(targets.length),
    ...targets.map((t, i) => text(`targets[${i}]`, t, PATH_TOKEN_MAX_TARGET_BYTES, 2)),
  ])
}

function countIn(claim: string, list: readonly string[], min: number, max: number): void {
  if (list.length < min || list.length > max) {
    throw new PathTokenClaimError(claim, `has ${list.length} entries, expected ${min}..${max}`)
  }
}

function text(claim: string, value: string, max: number, lengthBytes: 1 | 2): Buffer {
  const bytes = Buffer.from(value, 'utf8')
  if (bytes.length < 1 || bytes.length > max) {
    throw new PathTokenClaimError(
      claim,
      `${JSON.stringify(value)} has ${bytes.length} bytes, expected 1..${max}`,
    )
  }
  const length = Buffer.alloc(lengthBytes)
  if (lengthBytes === 1) length.writeUInt8(bytes.length)
  else length.writeUInt16BE(bytes.length)
  return Buffer.concat([length, bytes])
}
