/**
 * A worker's record of accepted nonces is its primary's: the kernel spreads a node's connections
 * over its workers, so a cache per worker would let a captured mesh header in once per worker. The
 * worker checks the MAC and the timestamp itself and asks the primary only whether the nonce is
 * new: one IPC round trip per token-authenticated data connection (about 50 µs, docs/mesh-protocol.md).
 */
import type { ReplayGuard, ReplayVerdict } from '../mesh/replay-cache.ts'
import type { FromWorker } from './messages.ts'

/** Questions in flight at most: beyond it (a primary that stopped answering) new ones are refused. */
const MAX_PENDING = 10_000

export class PrimaryNonces implements ReplayGuard {
  readonly #send: (message: FromWorker) => void
  readonly #pending = new Map<number, (verdict: ReplayVerdict) => void>()
  #nextId = 0

  constructor(send: (message: FromWorker) => void) {
    this.#send = send
  }

  /** `full` when the question cannot be asked now: the request is refused as `overloaded`. */
  remember(nonce: Buffer, expiresAtMs: number): Promise<ReplayVerdict> {
    if (this.#pending.size >= MAX_PENDING) return Promise.resolve('full')
    const id = this.#nextId++
    return new Promise((resolve) => {
      this.#pending.set(id, resolve)
      this.#send({ type: 'remember-nonce', id, nonce: nonce.toString('hex'), expiresAtMs })
    })
  }

  answered(id: number, verdict: ReplayVerdict): void {
    this.#pending.get(id)?.(verdict)
    this.#pending.delete(id)
  }

  /** The primary is gone: no nonce can be called new any more. */
  abandon(): void {
    for (const resolve of this.#pending.values()) resolve('full')
    this.#pending.clear()
  }
}
