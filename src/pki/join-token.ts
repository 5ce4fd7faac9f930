/**
 * The join token: what a node needs to join a scheduler's mesh, in one string, as k3s and
 * kubeadm hand out theirs: `dpjoin1.<CA fingerprint>.<secret>`. The fingerprint (SHA-256 of the
 * CA certificate) lets the node trust the scheduler before it has the CA; the secret proves to
 * the scheduler that the node was given the token.
 */
import { randomBytes } from 'node:crypto'
import type { Read } from '../util/read.ts'

export interface JoinToken {
  /** Lowercase hex SHA-256 of the CA certificate's DER. */
  readonly caFingerprint: string
  readonly secret: string
}

const PREFIX = 'dpjoin1'
const TOKEN = /^dpjoin1\.([0-9a-f]{64})\.([A-Za-z0-9_-]{43})$/
const SECRET_BYTES = 32

export function newJoinSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url')
}

export function formatJoinToken(token: JoinToken): string {
  return `${PREFIX}.${token.caFingerprint}.${token.secret}`
}

/** The token, or why it is none; the reason never quotes the secret. */
export function readJoinToken(text: string): Read<JoinToken> {
  const m = TOKEN.exec(text.trim())
  if (m) return { value: { caFingerprint: m[1] as string, secret: m[2] as string } }
  if (!text.trim().startsWith(`${PREFIX}.`))
    return { error: `expected a token starting with "${PREFIX}.", as the scheduler prints it` }
  return {
    error: `expected ${PREFIX}.<64 hex digits>.<43 base64url characters> (${text.trim().length} characters given)`,
  }
}
