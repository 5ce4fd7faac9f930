/**
 * The scheduler's path-token signer. The key lives in the store: a restarted scheduler signs with
 * the same key, so relays keep accepting the tokens of paths issued before the restart.
 */
import type { PathSigner } from './plan/instructions.ts'
import type { SchedulerStore } from './store/types.ts'
import {
  exportPrivateKey,
  exportPublicKey,
  generateSigningKey,
  importPrivateKey,
  signPathToken,
} from './token.ts'

export async function loadSigner(store: SchedulerStore): Promise<PathSigner> {
  const stored = await store.getSigningKey()
  const key = stored === undefined ? generateSigningKey() : importPrivateKey(stored)
  if (stored === undefined) await store.setSigningKey(exportPrivateKey(key.privateKey))
  return {
    publicKey: exportPublicKey(key.publicKey),
    sign: (claims) => signPathToken(claims, key.privateKey),
  }
}
