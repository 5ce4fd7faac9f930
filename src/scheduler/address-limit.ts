/**
 * Counts what each source address holds open (connections, streams) against one limit, so that
 * one address cannot take every slot of the scheduler's gRPC port.
 */
export class PerAddressLimit {
  readonly limit: number
  readonly #open = new Map<string, number>()

  constructor(limit: number) {
    this.limit = limit
  }

  /** Takes a slot for `address`; false (and nothing taken) when it holds `limit` already. */
  acquire(address: string): boolean {
    const open = this.#open.get(address) ?? 0
    if (open >= this.limit) return false
    this.#open.set(address, open + 1)
    return true
  }

  release(address: string): void {
    const open = this.#open.get(address) ?? 0
    if (open <= 1) this.#open.delete(address)
    else this.#open.set(address, open - 1)
  }

  /** Addresses holding a slot: bounded by the open connections, never by history. */
  get addresses(): number {
    return this.#open.size
  }
}
