/**
 * The messages waiting to go down one node's stream. Pushes happen from anywhere (a recompute
 * triggered by another node's report), while the stream's handler drains the queue in order;
 * `end(err)` finishes the stream once what was queued before it has gone out.
 */
export class Outbox<T> implements AsyncIterable<T> {
  readonly #queue: T[] = []
  #wake: (() => void) | undefined
  #ended = false
  #error: Error | undefined

  push(item: T): void {
    if (this.#ended) return
    this.#queue.push(item)
    this.#wake?.()
  }

  end(error?: Error): void {
    if (this.#ended) return
    this.#ended = true
    this.#error = error
    this.#wake?.()
  }

  get ended(): boolean {
    return this.#ended
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const next = this.#queue.shift()
      if (next !== undefined) {
        yield next
        continue
      }
      if (this.#ended) {
        if (this.#error) throw this.#error
        return
      }
      await new Promise<void>((resolve) => {
        this.#wake = resolve
      })
      this.#wake = undefined
    }
  }
}
