/**
 * The sender's copy of every byte read from the local side and not yet acknowledged, as chunks of
 * at most MAX_PAYLOAD_BYTES with fixed offsets: a chunk keeps its boundaries when it is re-sent,
 * so the receiver never sees two different chunks overlap. Pure bookkeeping, no I/O.
 *
 * Invariants: chunks are contiguous and ordered by offset; `acked ≤ chunk offsets`; every chunk
 * below `#unsent` was sent at least once; a chunk is in the lost queue at most once.
 */
import { MAX_PAYLOAD_BYTES } from './frame.ts'

export interface Chunk {
  readonly offset: number
  readonly data: Buffer
  /** The subflow that carried its latest copy; -1 before the first send. */
  sentOn: number
  sends: number
  lost: boolean
}

export class SendBuffer {
  #chunks: Chunk[] = []
  #head = 0
  #unsent = 0
  #lost: Chunk[] = []
  #next = 0
  #acked = 0

  /** The offset the next byte read from the local side gets. */
  get nextOffset(): number {
    return this.#next
  }

  get acked(): number {
    return this.#acked
  }

  /** Bytes held: read from the local side, not yet acknowledged. */
  get bytes(): number {
    return this.#next - this.#acked
  }

  append(data: Buffer): void {
    for (let at = 0; at < data.length; at += MAX_PAYLOAD_BYTES) {
      const piece = data.subarray(at, at + MAX_PAYLOAD_BYTES)
      this.#chunks.push({ offset: this.#next, data: piece, sentOn: -1, sends: 0, lost: false })
      this.#next += piece.length
    }
  }

  /** Drops the chunks wholly below `cumulative`; returns the bytes newly acknowledged. */
  ack(cumulative: number): number {
    if (cumulative <= this.#acked) return 0
    const before = this.#acked
    this.#acked = cumulative
    while (this.#head < this.#chunks.length) {
      const c = this.#chunks[this.#head] as Chunk
      if (c.offset + c.data.length > cumulative) break
      this.#head++
    }
    if (this.#unsent < this.#head) this.#unsent = this.#head
    this.#compact()
    return cumulative - before
  }

  /** The next never-sent chunk if it ends at or below `limit` (the receiver's credit). */
  peekUnsent(limit: number): Chunk | undefined {
    const c = this.#chunks[this.#unsent]
    if (c === undefined || c.offset + c.data.length > limit) return undefined
    return c
  }

  /** Whether a never-sent chunk waits, whatever the credit. */
  get hasUnsent(): boolean {
    return this.#unsent < this.#chunks.length
  }

  /** Records a send of `chunk` on `subflow`. */
  sent(chunk: Chunk, subflow: number): void {
    chunk.sentOn = subflow
    chunk.sends++
    chunk.lost = false
    if (this.#chunks[this.#unsent] === chunk) this.#unsent++
  }

  /** Queues for re-sending every unacknowledged chunk whose latest copy went on `subflow`. */
  markLost(subflow: number): number {
    let bytes = 0
    for (let i = this.#head; i < this.#unsent; i++) {
      const c = this.#chunks[i] as Chunk
      if (c.sentOn !== subflow || c.lost) continue
      c.lost = true
      this.#lost.push(c)
      bytes += c.data.length
    }
    this.#lost.sort((a, b) => a.offset - b.offset)
    return bytes
  }

  /** The lowest chunk waiting to be re-sent, dropping those acknowledged meanwhile. */
  peekLost(): Chunk | undefined {
    while (this.#lost.length > 0) {
      const c = this.#lost[0] as Chunk
      if (c.lost && c.offset + c.data.length > this.#acked) return c
      this.#lost.shift()
    }
    return undefined
  }

  /** Takes the chunk off the lost queue once re-sent (`sent` clears its flag). */
  resent(chunk: Chunk, subflow: number): void {
    this.sent(chunk, subflow)
    if (this.#lost[0] === chunk) this.#lost.shift()
  }

  /** Unacknowledged chunks that end beyond `offset`, in order: what a redundant subflow sends next. */
  *chunksFrom(offset: number): Generator<Chunk> {
    let lo = this.#head
    let hi = this.#chunks.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const c = this.#chunks[mid] as Chunk
      if (c.offset + c.data.length > offset) hi = mid
      else lo = mid + 1
    }
    for (let i = lo; i < this.#chunks.length; i++) yield this.#chunks[i] as Chunk
  }

  #compact(): void {
    if (this.#head === 0 || (this.#head < 1024 && this.#head * 2 < this.#chunks.length)) return
    this.#chunks = this.#chunks.slice(this.#head)
    this.#unsent -= this.#head
    this.#head = 0
  }
}
