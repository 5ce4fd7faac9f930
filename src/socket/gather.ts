/**
 * Bytes gathered from pieces into one buffer that doubles when full: each byte is copied a bounded
 * number of times (once in, at most about twice more on growth), however small the pieces; joining
 * everything held with every new piece would cost a peer's trickle quadratic time. The first piece
 * is kept as it is, uncopied, until a second one comes.
 */
const MIN_CAPACITY = 256

export class Gather {
  /** Bytes copied so far: what the bound above is about. */
  copiedBytes = 0
  #buf: Buffer | undefined = undefined
  #length = 0
  #owned = false

  get length(): number {
    return this.#length
  }

  /** Appends `piece`; returns everything gathered (a view, valid until the next append). */
  append(piece: Buffer): Buffer {
    if (this.#length === 0) {
      this.#buf = piece
      this.#length = piece.length
      return piece
    }
    const length = this.#length + piece.length
    let buf = this.#buf as Buffer
    if (!this.#owned || buf.length < length) {
      buf = this.#grow(buf, length)
    }
    piece.copy(buf, this.#length)
    this.copiedBytes += piece.length
    this.#length = length
    return buf.subarray(0, length)
  }

  #grow(old: Buffer, needed: number): Buffer {
    const grown = Buffer.allocUnsafe(Math.max(needed, 2 * this.#length, MIN_CAPACITY))
    old.copy(grown, 0, 0, this.#length)
    this.copiedBytes += this.#length
    this.#buf = grown
    this.#owned = true
    return grown
  }
}
