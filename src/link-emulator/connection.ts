/**
 * One client connection through the link emulator and the connection it opened to the target.
 * Each direction queues its source's chunks on the shared lane of that direction and writes them
 * to its destination when the lane releases them.
 *
 * Invariant (backpressure): a direction's queue is the bytes it has on the lane plus what its
 * destination socket still buffers; the source is paused whenever that reaches `maxQueueBytes`, so
 * the queue never exceeds it by more than one read chunk (`largestReadBytes` in the stats).
 */
import type { Socket } from 'node:net'
import type { Lane, LaneSink } from './lane.ts'

export type DirectionName = 'up' | 'down'

/** The emulator-wide state a connection reads and the counters it feeds. */
export interface LinkContext {
  readonly maxQueueBytes: number
  readonly lanes: Readonly<Record<DirectionName, Lane>>
  readonly counters: LinkCounters
  isBlackholed(): boolean
  onClosed(connection: LinkConnection): void
}

export interface LinkCounters {
  readonly forwarded: Record<DirectionName, number>
  dropped: number
  peakQueueBytes: number
  largestReadBytes: number
}

/**
 * Chunks enter a lane in slices of at most this many bytes. Bun reads up to 512 KiB at once, which
 * at a capped rate would be released as one late lump: slices keep the shaping as fine as Node's
 * 64 KiB reads gave it, whatever the runtime reads.
 */
const LANE_SLICE_BYTES = 64 * 1024

class Direction implements LaneSink {
  readonly #ctx: LinkContext
  readonly #name: DirectionName
  readonly #src: Socket
  readonly #dst: Socket
  #laneBytes = 0
  #finHeld = false
  #closed = false

  constructor(ctx: LinkContext, name: DirectionName, src: Socket, dst: Socket) {
    this.#ctx = ctx
    this.#name = name
    this.#src = src
    this.#dst = dst
    src.on('data', (chunk: Buffer) => this.#onData(chunk))
    src.on('end', () => this.#onEnd())
    dst.on('drain', () => this.#maybeResume())
  }

  deliver(chunk: Buffer | null): void {
    if (this.#closed) return
    if (chunk === null) {
      this.#dst.end()
      return
    }
    this.#laneBytes -= chunk.length
    this.#ctx.counters.forwarded[this.#name] += chunk.length
    this.#dst.write(chunk)
    this.#maybeResume()
  }

  /** The lane lost this entry: data is gone, but a FIN is kept to be sent once the link is back. */
  lost(chunk: Buffer | null): void {
    if (this.#closed) return
    if (chunk === null) {
      this.#finHeld = true
      return
    }
    this.#laneBytes -= chunk.length
    this.#ctx.counters.dropped += chunk.length
    this.#maybeResume()
  }

  releaseHeldFin(): void {
    if (this.#closed || !this.#finHeld) return
    this.#finHeld = false
    this.#ctx.lanes[this.#name].push(this, null)
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#ctx.counters.dropped += this.#laneBytes
    this.#laneBytes = 0
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return
    if (this.#ctx.isBlackholed()) {
      this.#ctx.counters.dropped += chunk.length
      return
    }
    this.#laneBytes += chunk.length
    const lane = this.#ctx.lanes[this.#name]
    for (let at = 0; at < chunk.length; at += LANE_SLICE_BYTES) {
      lane.push(this, chunk.subarray(at, at + LANE_SLICE_BYTES))
    }
    if (chunk.length > this.#ctx.counters.largestReadBytes) this.#ctx.counters.largestReadBytes = chunk.length
    const queued = this.#queuedBytes()
    if (queued > this.#ctx.counters.peakQueueBytes) this.#ctx.counters.peakQueueBytes = queued
    if (queued >= this.#ctx.maxQueueBytes) this.#src.pause()
  }

  #onEnd(): void {
    if (this.#closed) return
    if (this.#ctx.isBlackholed()) this.#finHeld = true
    else this.#ctx.lanes[this.#name].push(this, null)
  }

  #maybeResume(): void {
    if (this.#src.isPaused() && this.#queuedBytes() < this.#ctx.maxQueueBytes) this.#src.resume()
  }

  #queuedBytes(): number {
    return this.#laneBytes + this.#dst.writableLength
  }
}

export class LinkConnection {
  readonly #ctx: LinkContext
  readonly #client: Socket
  readonly #target: Socket
  readonly #up: Direction
  readonly #down: Direction
  #done = false

  constructor(ctx: LinkContext, client: Socket, target: Socket) {
    this.#ctx = ctx
    this.#client = client
    this.#target = target
    client.setNoDelay(true)
    target.setNoDelay(true)
    this.#up = new Direction(ctx, 'up', client, target)
    this.#down = new Direction(ctx, 'down', target, client)
    // An error on either side (RST, EPIPE, refused connect) is passed on as an RST to the other.
    client.on('error', () => this.teardown(true))
    target.on('error', () => this.teardown(true))
    client.on('close', () => this.#onSocketClosed())
    target.on('close', () => this.#onSocketClosed())
  }

  /** Ends both sides at once, with an RST when `reset` and a plain close otherwise. */
  teardown(reset: boolean): void {
    if (this.#done) return
    this.#done = true
    this.#up.close()
    this.#down.close()
    for (const socket of [this.#client, this.#target]) {
      if (reset) resetSocket(socket)
      else socket.destroy()
    }
    this.#ctx.onClosed(this)
  }

  releaseHeldFins(): void {
    this.#up.releaseHeldFin()
    this.#down.releaseHeldFin()
  }

  /** Sockets close on their own only once both directions have delivered their FIN. */
  #onSocketClosed(): void {
    if (this.#client.closed && this.#target.closed) this.teardown(false)
  }
}

/** `resetAndDestroy` on a socket still connecting would wait for the connection: destroy it instead. */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return
  if (socket.connecting) socket.destroy()
  else socket.resetAndDestroy()
}
