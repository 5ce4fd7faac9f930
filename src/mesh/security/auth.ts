/**
 * Shared-token authentication of open requests (used when the mesh has no mTLS). The MAC proves
 * the sender knows the token and that no header byte changed; the timestamp window and the replay
 * cache stop a captured header from opening a second flow.
 */
import { timingSafeEqual } from 'node:crypto'
import { MAC_WINDOW_MS } from '../wire/constants.ts'
import type { DecodedOpenRequest, RequestAuthFields } from '../wire/request.ts'
import { computeMac, macInput } from './mac.ts'
import type { ReplayGuard, ReplayVerdict } from './replay-cache.ts'

/** Each outcome other than `ok` is also the response status to send. */
export type AuthOutcome = 'ok' | 'unauthorized' | 'expired' | 'replayed' | 'overloaded'

/**
 * Checks the MAC first, so that nobody without the token can make the receiver remember a nonce,
 * then the timestamp, then the nonce. `raw` is the header exactly as received. Synchronous with a
 * ReplayCache of this process; a promise when the guard asks another (a node's primary).
 */
export function verifyRequestAuth(
  raw: Buffer,
  request: DecodedOpenRequest,
  token: string,
  now: number,
  replay: ReplayGuard,
): AuthOutcome | Promise<AuthOutcome> {
  const auth = request.auth
  const signed = verifyHeaderMac(raw, auth, token, now)
  if (signed !== 'ok' || auth === undefined) return signed
  const verdict = replay.remember(auth.nonce, auth.timestampMs + MAC_WINDOW_MS)
  return typeof verdict === 'string' ? replayOutcome(verdict) : verdict.then(replayOutcome)
}

/** The MAC and timestamp checks, shared by open requests and control hellos (their auth TLVs are alike). */
export function verifyHeaderMac(
  raw: Buffer,
  auth: RequestAuthFields | undefined,
  token: string,
  now: number,
): 'ok' | 'unauthorized' | 'expired' {
  if (auth === undefined || raw.length < auth.signedLength) return 'unauthorized'
  const expected = computeMac(token, macInput(raw, auth.signedLength))
  if (expected.length !== auth.mac.length || !timingSafeEqual(expected, auth.mac)) return 'unauthorized'
  if (Math.abs(now - auth.timestampMs) > MAC_WINDOW_MS) return 'expired'
  return 'ok'
}

export function replayOutcome(verdict: ReplayVerdict): AuthOutcome {
  switch (verdict) {
    case 'fresh':
      return 'ok'
    case 'replayed':
      return 'replayed'
    case 'full':
      return 'overloaded'
  }
}
