/**
 * The scheduler's path-token signer. The key lives in the store: a restarted scheduler signs with
 * the same key, so relays keep accepting the tokens of paths issued before the restart.
 */
import type { PathTokenError } from '../errors/paths.ts'
import type { PathTokenClaims } from '../mesh/security/path-token.ts'
import type { Clock } from '../util/clock.ts'
import type { PathSigner } from './plan/instructions.ts'
import type { SchedulerStore } from './store/types.ts'
import {
  exportPrivateKey,
  exportPublicKey,
  generateSigningKey,
  importPrivateKey,
  signPathTokens,
} from './token.ts'

export async function loadSigner(store: SchedulerStore, clock?: Clock): Promise<PathSigner> {
  let pem = await store.getSigningKey()
  if (pem === undefined) {
    const mine = exportPrivateKey(generateSigningKey().privateKey)
    await store.setSigningKey(mine)
    // Replicas starting together race to store a key and the store keeps the first: read it back.
    pem = (await store.getSigningKey()) ?? mine
  }
  const key = importPrivateKey(pem)
  const signer: PathSigner = {
    publicKey: exportPublicKey(key.publicKey),
    signAll: (claims) => signPathTokens(claims, key.privateKey),
  }
  return clock ? reusingSigner(signer, clock) : signer
}

/** Tokens kept for reuse, the least recently signed or reused dropped first beyond this many. */
export const REUSABLE_TOKENS = 65_536

interface Signed {
  readonly expiresAt: number
  readonly token: Buffer
}

/**
 * How much earlier than asked a reused token may expire, as a share of the asked lifetime: a
 * cached set's tokens then outlive a scheduler outage by 99 % of path_token_ttl at least.
 */
export const REUSE_SLACK = 0.01

/**
 * Whether a token signed earlier for the same route, path and targets may stand in for a new one:
 * it expires no later than asked, and not much earlier (REUSE_SLACK).
 */
export function reusable(
  signed: { readonly expiresAt: number },
  asked: PathTokenClaims,
  now: number,
): boolean {
  const early = asked.expiresAt - signed.expiresAt
  return early >= 0 && early <= REUSE_SLACK * (asked.expiresAt - now)
}

/**
 * Signing is most of what a set costs to build, and many sets repeat the paths of the last one:
 * a set renewed at half its TTL, or rebuilt because another of the node's routes changed. Those
 * paths keep the tokens they were given while those are reusable.
 */
export function reusingSigner(inner: PathSigner, clock: Clock, capacity = REUSABLE_TOKENS): PathSigner {
  const tokens = new Map<string, Signed>()
  const remember = (key: string, signed: Signed) => {
    tokens.delete(key)
    tokens.set(key, signed)
    if (tokens.size > capacity) tokens.delete(tokens.keys().next().value as string)
  }
  return {
    publicKey: inner.publicKey,
    signAll(claims) {
      const now = clock.now()
      const keys = claims.map((c) => JSON.stringify([c.route, c.nodes, c.targets]))
      const out: (Buffer | PathTokenError | undefined)[] = keys.map((key, i) => {
        const known = tokens.get(key)
        if (known === undefined || !reusable(known, claims[i] as PathTokenClaims, now)) return undefined
        remember(key, known)
        return known.token
      })
      const fresh = out.flatMap((t, i) => (t === undefined ? [i] : []))
      const signed = inner.signAll(fresh.map((i) => claims[i] as PathTokenClaims))
      for (const [n, i] of fresh.entries()) {
        const token = signed[n] as Buffer | PathTokenError
        out[i] = token
        if (!(token instanceof Error)) {
          remember(keys[i] as string, { expiresAt: (claims[i] as PathTokenClaims).expiresAt, token })
        }
      }
      return out as (Buffer | PathTokenError)[]
    },
  }
}
