/**
 * At most one write per key in flight; a request while one runs marks the key dirty and runs once
 * more after it, reading the state then. Telemetry is rewritten on every report: under load this
 * collapses a burst into two writes, and keeps them in order (a late write cannot undo a newer one).
 */
export class SingleFlight {
  readonly #run: (key: string) => Promise<void>
  readonly #onError: (key: string, err: unknown) => void
  readonly #inFlight = new Set<string>()
  readonly #dirty = new Set<string>()
  #stopped = false

  constructor(run: (key: string) => Promise<void>, onError: (key: string, err: unknown) => void) {
    this.#run = run
    this.#onError = onError
  }

  request(key: string): void {
    if (this.#stopped) return
    if (this.#inFlight.has(key)) {
      this.#dirty.add(key)
      return
    }
    this.#inFlight.add(key)
    void this.#go(key)
  }

  /** Later requests are ignored; writes in flight finish on their own. */
  stop(): void {
    this.#stopped = true
    this.#dirty.clear()
  }

  async #go(key: string): Promise<void> {
    try {
      await this.#run(key)
    } catch (err) {
      this.#onError(key, err)
    } finally {
      this.#inFlight.delete(key)
      if (this.#dirty.delete(key)) this.request(key)
    }
  }
}
