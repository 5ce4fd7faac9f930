/**
 * The scheduler's side of path tokens: one Ed25519 key pair signs every path it issues; relays
 * hold the public key and check tokens with `verifyPathToken` (src/mesh/path-token.ts, which also
 * documents the layout).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto'
import {
  PathTokenClaimError,
  type PathTokenError,
  PathTokenKeyError,
  PathTokenTooLargeError,
} from '../errors/paths.ts'
import {
  PATH_TOKEN_MAX_BYTES,
  PATH_TOKEN_MAX_NAME_BYTES,
  PATH_TOKEN_MAX_NODES,
  PATH_TOKEN_MAX_TARGET_BYTES,
  PATH_TOKEN_MAX_TARGETS,
  PATH_TOKEN_SIGNATURE_BYTES,
  PATH_TOKEN_TREE_CONTEXT,
  PATH_TOKEN_VERSION,
  type PathTokenClaims,
} from '../mesh/security/path-token.ts'
import {
  buildTree,
  leafHash,
  TREE_HASH_BYTES,
  TREE_MAX_LEAVES,
  TREE_PROOF_MAX_HASHES,
} from '../mesh/security/path-token-tree.ts'

export type { PathTokenClaims } from '../mesh/security/path-token.ts'

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

/** One token signed alone (a batch of one): body, tree place, then the 64-byte signature. */
export function signPathToken(claims: PathTokenClaims, privateKey: KeyObject): Buffer {
  const [token] = signPathTokens([claims], privateKey)
  if (token instanceof Error) throw token
  return token as Buffer
}

/**
 * A token for each claim, in order, one signature per TREE_MAX_LEAVES of them
 * (src/mesh/path-token-tree.ts). A claim that cannot be encoded, or whose token might not fit
 * the mesh header, gets its error in its place and the others are signed without it.
 */
export function signPathTokens(
  claims: readonly PathTokenClaims[],
  privateKey: KeyObject,
): (Buffer | PathTokenError)[] {
  if (privateKey.asymmetricKeyType !== 'ed25519' || privateKey.type !== 'private') {
    throw new PathTokenKeyError('signing key', 'is not an Ed25519 private key')
  }
  const out: (Buffer | PathTokenError)[] = claims.map(encodeOrError)
  const bodies = out.flatMap((b, i) => (b instanceof Error ? [] : [{ at: i, body: b }]))
  for (let from = 0; from < bodies.length; from += TREE_MAX_LEAVES) {
    const batch = bodies.slice(from, from + TREE_MAX_LEAVES)
    const tree = buildTree(batch.map((b) => leafHash(b.body)))
    const message = Buffer.concat([PATH_TOKEN_TREE_CONTEXT, Buffer.of(batch.length), tree.root])
    const signature = sign(null, message, privateKey)
    for (const [i, { at, body }] of batch.entries()) {
      out[at] = assemble(body, batch.length, i, tree.proofs[i] ?? [], signature)
    }
  }
  return out
}

/** Room a token needs beyond its body: tree place, the longest proof, the signature. */
const TOKEN_OVERHEAD = 3 + TREE_PROOF_MAX_HASHES * TREE_HASH_BYTES + PATH_TOKEN_SIGNATURE_BYTES

/**
 * The body, or why it cannot be one. A body is refused when its token with the longest proof
 * would not fit the mesh header: whether a path can be issued never depends on its batch.
 */
function encodeOrError(claims: PathTokenClaims): Buffer | PathTokenError {
  try {
    const body = encodeClaims(claims)
    const size = body.length + TOKEN_OVERHEAD
    return size > PATH_TOKEN_MAX_BYTES ? new PathTokenTooLargeError(size, PATH_TOKEN_MAX_BYTES) : body
  } catch (err) {
    if (err instanceof PathTokenClaimError) return err
    throw err
  }
}

function assemble(
  body: Buffer,
  leafCount: number,
  leafIndex: number,
  proof: readonly Buffer[],
  signature: Buffer,
): Buffer {
  return Buffer.concat([body, Buffer.of(leafCount, leafIndex, proof.length), ...proof, signature])
}

function encodeClaims(claims: PathTokenClaims): Buffer {
  const { expiresAt, route, nodes, targets } = claims
  if (!(Number.isSafeInteger(expiresAt) && expiresAt >= 0)) {
    throw new PathTokenClaimError('expiresAt', `${expiresAt} is not milliseconds since the epoch`)
  }
  countIn('nodes', nodes, 1, PATH_TOKEN_MAX_NODES)
  countIn('targets', targets, 0, PATH_TOKEN_MAX_TARGETS)
  if (new Set(nodes).size !== nodes.length) {
    throw new PathTokenClaimError('nodes', `${JSON.stringify(nodes)} repeats a node: a path never loops`)
  }
  const routeBytes = textLength('route', route, PATH_TOKEN_MAX_NAME_BYTES)
  const nodeBytes = nodes.map((id, i) => textLength(`nodes[${i}]`, id, PATH_TOKEN_MAX_NAME_BYTES))
  const targetBytes = targets.map((t, i) => textLength(`targets[${i}]`, t, PATH_TOKEN_MAX_TARGET_BYTES))
  const size =
    9 + 1 + routeBytes + 1 + nodes.length + sum(nodeBytes) + 1 + 2 * targets.length + sum(targetBytes)
  const out = Buffer.allocUnsafe(size)
  out[0] = PATH_TOKEN_VERSION
  out.writeBigUInt64BE(BigInt(expiresAt), 1)
  let at = 9
  at = out.writeUInt8(routeBytes, at)
  at += out.write(route, at, 'utf8')
  at = out.writeUInt8(nodes.length, at)
  for (const [i, id] of nodes.entries()) {
    at = out.writeUInt8(nodeBytes[i] as number, at)
    at += out.write(id, at, 'utf8')
  }
  at = out.writeUInt8(targets.length, at)
  for (const [i, target] of targets.entries()) {
    at = out.writeUInt16BE(targetBytes[i] as number, at)
    at += out.write(target, at, 'utf8')
  }
  return out
}

function sum(values: readonly number[]): number {
  let total = 0
  for (const v of values) total += v
  return total
}

function countIn(claim: string, list: readonly string[], min: number, max: number): void {
  if (list.length < min || list.length > max) {
    throw new PathTokenClaimError(claim, `has ${list.length} entries, expected ${min}..${max}`)
  }
}

/** The UTF-8 length of a text claim, checked against its bounds. */
function textLength(claim: string, value: string, max: number): number {
  const length = Buffer.byteLength(value, 'utf8')
  if (length < 1 || length > max) {
    throw new PathTokenClaimError(claim, `${JSON.stringify(value)} has ${length} bytes, expected 1..${max}`)
  }
  return length
}
