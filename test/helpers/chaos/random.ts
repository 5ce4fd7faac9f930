/**
 * Seeded randomness for chaos runs: the same seed gives the same fault schedule and the same bytes,
 * so a run can be replayed. A Weyl sequence (a constant step added to a 32-bit state) put through a
 * murmur3-style bit mixer: cheap, and statistically fine for schedules and test payloads (not for
 * anything secret).
 */

const WEYL_STEP = 0x9e3779b9

function mix(z: number): number {
  let x = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

export class SeededRandom {
  #state: number

  constructor(seed: number) {
    this.#state = seed >>> 0
  }

  /** The next 32-bit unsigned integer. */
  nextUint32(): number {
    this.#state = (this.#state + WEYL_STEP) >>> 0
    return mix(this.#state)
  }

  /** Uniform in [0, 1), like Math.random. */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000
  }

  /** Uniform integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick() from an empty list')
    return items[Math.floor(this.next() * items.length)] as T
  }

  /** The items in a random order (Fisher–Yates); the input is left as it is. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1))
      ;[out[i], out[j]] = [out[j] as T, out[i] as T]
    }
    return out
  }

  /** An independent generator for one purpose (a lane, a flow), the same for the same seed and label. */
  fork(label: number): SeededRandom {
    return new SeededRandom(mix((this.#state ^ mix(label + 1)) >>> 0))
  }
}

/**
 * A flow's pseudo-random bytes, produced in order: the sender takes them to send, and a second
 * instance with the same seed tells the receiver what must arrive, byte for byte.
 */
export class SeededBytes {
  readonly #random: SeededRandom
  /** Bytes of the last 32-bit word not handed out yet. */
  #spare: number[] = []

  constructor(seed: number) {
    this.#random = new SeededRandom(seed)
  }

  take(length: number): Buffer {
    const out = Buffer.allocUnsafe(length)
    let i = 0
    while (i < length && this.#spare.length > 0) out[i++] = this.#spare.shift() as number
    for (; i + 4 <= length; i += 4) out.writeUInt32LE(this.#random.nextUint32(), i)
    if (i < length) {
      const word = this.#random.nextUint32()
      const bytes = [word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24]
      while (i < length) out[i++] = bytes.shift() as number
      this.#spare = bytes
    }
    return out
  }
}

/** Checks a byte stream against the bytes its sender drew from the same seed, chunk by chunk. */
export class StreamCheck {
  readonly #expected: SeededBytes
  #received = 0
  #corrupt = 0

  constructor(seed: number) {
    this.#expected = new SeededBytes(seed)
  }

  /** Bytes received so far. */
  get received(): number {
    return this.#received
  }

  /** Bytes that differed from what was sent at their offset, or arrived beyond it. */
  get corrupt(): number {
    return this.#corrupt
  }

  /** `sent` is how many bytes the sender has sent so far: more than that cannot be right. */
  add(chunk: Buffer, sent: number): void {
    const valid = Math.max(0, Math.min(chunk.length, sent - this.#received))
    const expected = this.#expected.take(valid)
    for (let i = 0; i < valid; i++) if (chunk[i] !== expected[i]) this.#corrupt++
    this.#corrupt += chunk.length - valid
    this.#received += chunk.length
  }
}
