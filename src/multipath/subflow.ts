/**
 * One subflow of a framed session: a socket (after its mesh handshake) carrying frames both ways,
 * its decoder, its measurements and its counters. It reports frames and its end to the session
 * and never decides anything itself.
 */
import type { Duplex } from 'node:stream'
import type { SubflowView } from './chunk-picker.ts'
import { encodeDataHeader, type Frame, FrameDecoder } from './frame.ts'
import { SubflowMeter } from './meter.ts'

export interface SubflowHost {
  onFrame(subflow: Subflow, frame: Frame): void
  /** After every frame of one read has been handled. */
  onReadDone(subflow: Subflow): void
  onDrain(subflow: Subflow): void
  /** The bytes were not valid frames (or a frame broke the session's rules): the session resets. */
  onCorrupt(subflow: Subflow, error: Error): void
  /** The socket ended or failed; `error` is undefined for a clean end. */
  onGone(subflow: Subflow, error: Error | undefined): void
}

export interface SubflowStats {
  readonly index: number
  readonly open: boolean
  /** DATA payload bytes written on this subflow, copies included. */
  readonly bytesSent: number
  /** DATA payload bytes received on this subflow, duplicates included. */
  readonly bytesReceived: number
  /** Payload bytes of chunks that had been sent before (after a loss, or redundant copies). */
  readonly retransmittedBytes: number
  readonly inflightBytes: number
  /** Smoothed RTT from PING/PONG; undefined until the first PONG. */
  readonly srttMs: number | undefined
  readonly minRttMs: number
  readonly deliveryRateBytesPerSec: number
  /** Why it closed, when it has. */
  readonly closeReason: string | undefined
}

export class Subflow {
  readonly index: number
  readonly socket: Duplex
  readonly meter: SubflowMeter
  readonly weight: number
  alive = true
  lastRxAt: number
  /** Next offset this subflow sends in redundant mode. */
  cursor = 0
  ackDue = false
  /** The cumulative and limit of the last ACK written here, to refresh only what changed. */
  lastAck = { cumulative: -1, limit: -1, finReceived: false }
  bytesSent = 0
  bytesReceived = 0
  retransmittedBytes = 0
  closeReason: string | undefined
  readonly #decoder = new FrameDecoder()
  readonly #writeBudgetBytes: number

  constructor(
    index: number,
    socket: Duplex,
    weight: number,
    priorRateBytesPerMs: number,
    writeBudgetBytes: number,
    now: number,
  ) {
    this.index = index
    this.socket = socket
    this.weight = weight
    this.meter = new SubflowMeter(priorRateBytesPerMs)
    this.lastRxAt = now
    this.#writeBudgetBytes = writeBudgetBytes
  }

  /** Starts reading; `now` stamps every read for silence detection. */
  attach(host: SubflowHost, now: () => number): void {
    const s = this.socket
    s.on('data', (chunk: Buffer) => {
      if (!this.alive) return
      this.lastRxAt = now()
      try {
        this.#decoder.push(chunk, (frame) => {
          if (this.alive) host.onFrame(this, frame)
        })
      } catch (err) {
        host.onCorrupt(this, err as Error)
        return
      }
      if (this.alive) host.onReadDone(this)
    })
    s.on('drain', () => {
      if (this.alive) host.onDrain(this)
    })
    s.on('end', () => host.onGone(this, undefined))
    s.on('error', (err: Error) => host.onGone(this, err))
    s.on('close', () => host.onGone(this, undefined))
    // A mesh data connection arrives paused (its header reader paused it): reading starts here.
    s.resume()
    // It may have ended while its flow waited for the other paths to answer: that 'end' was
    // emitted then and will not come again.
    if (s.readableEnded || s.destroyed) process.nextTick(() => host.onGone(this, undefined))
  }

  get inflightBytes(): number {
    return Math.max(0, this.bytesSent - this.meter.delivered)
  }

  get writable(): boolean {
    return this.alive && this.socket.writableLength < this.#writeBudgetBytes
  }

  view(): SubflowView {
    return {
      index: this.index,
      minRttMs: this.meter.minRttMs,
      rateBytesPerMs: this.meter.rateBytesPerMs,
      inflightBytes: this.inflightBytes,
      writable: this.writable,
      weight: this.weight,
      measured: this.meter.measured,
    }
  }

  writeData(offset: number, payload: Buffer, copy: boolean, now: number): void {
    this.meter.onSent(now)
    this.socket.cork()
    this.socket.write(encodeDataHeader(offset, payload.length))
    this.socket.write(payload)
    this.socket.uncork()
    this.bytesSent += payload.length
    if (copy) this.retransmittedBytes += payload.length
  }

  writeFrame(frame: Buffer): void {
    if (this.alive && !this.socket.destroyed) this.socket.write(frame)
  }

  stats(): SubflowStats {
    return {
      index: this.index,
      open: this.alive,
      bytesSent: this.bytesSent,
      bytesReceived: this.bytesReceived,
      retransmittedBytes: this.retransmittedBytes,
      inflightBytes: this.inflightBytes,
      srttMs: this.meter.srttMs,
      minRttMs: this.meter.minRttMs,
      deliveryRateBytesPerSec: Math.round(this.meter.rateBytesPerMs * 1000),
      closeReason: this.closeReason,
    }
  }
}
