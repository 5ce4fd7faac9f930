/**
 * The receiver's reorder buffer: chunks that arrived ahead of the next offset to deliver wait here
 * until the gap before them fills. Duplicates (a chunk re-sent after its first copy arrived after
 * all, or a redundant copy) are dropped and counted. Pure bookkeeping, no I/O.
 *
 * The bound is the sender's: it never sends beyond the credit limit, and the session checks that
 * limit before a chunk gets here.
 */

interface Held {
  readonly offset: number
  readonly data: Buffer
}

export class ReorderBuffer {
  /** Sorted by offset; offsets are unique. */
  #held: Held[] = []
  #bytes = 0
  #highWater = 0
  #next = 0
  #duplicateBytes = 0

  /** Every byte below this offset has been handed out in order. */
  get next(): number {
    return this.#next
  }

  get bytes(): number {
    return this.#bytes
  }

  get highWaterBytes(): number {
    return this.#highWater
  }

  get duplicateBytes(): number {
    return this.#duplicateBytes
  }

  /**
   * Takes a chunk; returns the bytes that are now in order (possibly none), to be delivered as
   * they come. Bytes at or beyond the chunk's offset already held or delivered are not repeated.
   */
  insert(offset: number, data: Buffer): Buffer[] {
    const end = offset + data.length
    if (end <= this.#next) {
      this.#duplicateBytes += data.length
      return []
    }
    if (offset > this.#next) {
      this.#hold(offset, data)
      return []
    }
    const out = [data.subarray(this.#next - offset)]
    this.#duplicateBytes += this.#next - offset
    this.#next = end
    this.#drain(out)
    return out
  }

  #hold(offset: number, data: Buffer): void {
    let lo = 0
    let hi = this.#held.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.#held[mid] as Held).offset < offset) lo = mid + 1
      else hi = mid
    }
    if (this.#held[lo]?.offset === offset) {
      this.#duplicateBytes += data.length
      return
    }
    this.#held.splice(lo, 0, { offset, data })
    this.#bytes += data.length
    if (this.#bytes > this.#highWater) this.#highWater = this.#bytes
  }

  #drain(out: Buffer[]): void {
    let taken = 0
    for (const h of this.#held) {
      if (h.offset > this.#next) break
      taken++
      this.#bytes -= h.data.length
      const end = h.offset + h.data.length
      if (end <= this.#next) {
        this.#duplicateBytes += h.data.length
        continue
      }
      out.push(h.data.subarray(this.#next - h.offset))
      this.#duplicateBytes += this.#next - h.offset
      this.#next = end
    }
    if (taken > 0) this.#held.splice(0, taken)
  }
}
