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
  let pem = await store.getSigningKey()
  if (pem === undefined) {
    const mine = exportPrivateKey(generateSigningKey().privateKey)
    await store.setSigningKey(mine)
    // Replicas starting together race to store a key and the store keeps the first: read it back.
    pem = (await store.getSigningKey()) ?? mine
  }
  const key = importPrivateKey(pem)
  return {
    publicKey: exportPublicKey(key.publicKey),
    sign: (claims) => signPathToken(claims, key.privateKey),
  }
}
