/**
 * A worker's record of accepted nonces is its primary's: the kernel spreads a node's connections
 * over its workers, so a cache per worker would let a captured mesh header in once per worker. The
 * worker checks the MAC and the timestamp itself and asks the primary only whether the nonce is
 * new. The questions of one event-loop turn go in one message, and come back in one: under load,
 * that is what keeps the primary's share small (measured in docs/mesh-protocol.md).
 */
import type { ReplayGuard, ReplayVerdict } from '../mesh/security/replay-cache.ts'
import type { FromWorker } from './messages.ts'

/** Questions in flight at most: beyond it (a primary that stopped answering) new ones are refused. */
const MAX_PENDING = 10_000

type Batch = { firstId: number; nonces: string[]; expiresAtMs: number[] }

export class PrimaryNonces implements ReplayGuard {
  readonly #send: (message: FromWorker) => void
  readonly #pending = new Map<number, (verdict: ReplayVerdict) => void>()
  #nextId = 0
  #batch: Batch | undefined
  readonly #flush = () => {
    const batch = this.#batch
    this.#batch = undefined
    if (batch !== undefined) this.#send({ type: 'remember-nonces', ...batch })
  }

  constructor(send: (message: FromWorker) => void) {
    this.#send = send
  }

  /** `full` when the question cannot be asked now: the request is refused as `overloaded`. */
  remember(nonce: Buffer, expiresAtMs: number): Promise<ReplayVerdict> {
    if (this.#pending.size >= MAX_PENDING) return Promise.resolve('full')
    const id = this.#nextId++
    if (this.#batch === undefined) {
      this.#batch = { firstId: id, nonces: [], expiresAtMs: [] }
      setImmediate(this.#flush)
    }
    this.#batch.nonces.push(nonce.toString('hex'))
    this.#batch.expiresAtMs.push(expiresAtMs)
    return new Promise((resolve) => this.#pending.set(id, resolve))
  }

  /** The primary's verdicts on a batch, in the order it was asked. */
  answered(firstId: number, verdicts: readonly ReplayVerdict[]): void {
    verdicts.forEach((verdict, i) => {
      this.#pending.get(firstId + i)?.(verdict)
      this.#pending.delete(firstId + i)
    })
  }

  /** The primary is gone: no nonce can be called new any more. */
  abandon(): void {
    for (const resolve of this.#pending.values()) resolve('full')
    this.#pending.clear()
  }
}
