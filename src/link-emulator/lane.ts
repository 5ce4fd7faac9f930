/**
 * One direction of an emulated link: a FIFO of chunks from every connection, each released at the
 * time `scheduleChunk` gave it. Release times never decrease along the FIFO, so a single timer armed
 * for the head is enough however many chunks are in flight.
 */
import type { Clock } from '../util/clock.ts'
import { IDLE_LANE, type LaneTimes, type LinkShape, scheduleChunk } from './schedule.ts'

/** The far end of one connection in this direction. `chunk` null is the FIN. */
export interface LaneSink {
  deliver(chunk: Buffer | null): void
  /** The link lost this entry before its release time. */
  lost(chunk: Buffer | null): void
}

export interface LaneEntry {
  readonly sink: LaneSink
  readonly chunk: Buffer | null
  readonly deliverAtMs: number
}

/** Past this many consumed entries the array is compacted, so a busy lane does not grow forever. */
const COMPACT_AFTER = 1024

export class Lane {
  readonly #clock: Clock
  readonly #shape: () => LinkShape
  readonly #random: () => number
  #entries: LaneEntry[] = []
  #head = 0
  #times: LaneTimes = IDLE_LANE
  #timer: NodeJS.Timeout | undefined
  #held = false

  constructor(clock: Clock, shape: () => LinkShape, random: () => number = Math.random) {
    this.#clock = clock
    this.#shape = shape
    this.#random = random
  }

  push(sink: LaneSink, chunk: Buffer | null): void {
    this.#times = scheduleChunk(
      this.#times,
      this.#shape(),
      chunk?.length ?? 0,
      this.#clock.now(),
      this.#random,
    )
    this.#entries.push({ sink, chunk, deliverAtMs: this.#times.deliverAtMs })
    if (this.#timer === undefined) this.#arm()
  }

  /** Empties the lane (the link lost what it carried) and returns what was in it, oldest first. */
  clear(): LaneEntry[] {
    const pending = this.#entries.slice(this.#head)
    this.#entries = []
    this.#head = 0
    this.#times = IDLE_LANE
    this.#disarm()
    return pending
  }

  close(): void {
    this.clear()
  }

  /** Releases nothing until release(): chunks keep their order and wait, none is lost. */
  hold(): void {
    this.#held = true
    this.#disarm()
  }

  /** Chunks whose time has come while held go at once, in order; the rest at their time. */
  release(): void {
    this.#held = false
    if (this.#timer === undefined) this.#arm()
  }

  #arm(): void {
    if (this.#held) return
    const head = this.#entries[this.#head]
    if (head === undefined) return
    const waitMs = Math.max(0, Math.ceil(head.deliverAtMs - this.#clock.now()))
    this.#timer = setTimeout(() => this.#release(), waitMs)
  }

  #disarm(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #release(): void {
    this.#timer = undefined
    const now = this.#clock.now()
    for (;;) {
      const head = this.#entries[this.#head]
      if (head === undefined || head.deliverAtMs > now) break
      this.#head++
      head.sink.deliver(head.chunk)
    }
    this.#compact()
    if (this.#timer === undefined) this.#arm()
  }

  #compact(): void {
    if (this.#head === this.#entries.length) {
      this.#entries = []
      this.#head = 0
    } else if (this.#head > COMPACT_AFTER && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head)
      this.#head = 0
    }
  }
}
