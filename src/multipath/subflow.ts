/**
 * One subflow of a framed session: a connection (after its mesh handshake) carrying frames both
 * ways, its decoder, its measurements and its counters. It is the connection's sink: it reports
 * frames and its end to the session and never decides anything itself.
 */
import type { CloseCause, Connection, ConnectionSink } from '../socket/connection.ts'
import { WriteQueue } from '../socket/write-queue.ts'
import type { SubflowView } from './chunk-picker.ts'
import { encodeDataFrame, type Frame, FrameDecoder } from './frame.ts'
import { SubflowMeter } from './meter.ts'

export interface SubflowHost {
  onFrame(subflow: Subflow, frame: Frame): void
  /** After every frame of one read has been handled. */
  onReadDone(subflow: Subflow): void
  onDrain(subflow: Subflow): void
  /** The bytes were not valid frames (or a frame broke the session's rules): the session resets. */
  onCorrupt(subflow: Subflow, error: Error): void
  /** The connection ended or failed; `error` is undefined for a clean end. */
  onGone(subflow: Subflow, error: Error | undefined): void
  /** The connection is closed, whatever the session made of it: what a linger waits for. */
  onClosed(subflow: Subflow): void
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

export class Subflow implements ConnectionSink<SubflowHost | undefined> {
  readonly index: number
  readonly connection: Connection
  readonly meter: SubflowMeter
  readonly weight: number
  owner: SubflowHost | undefined = undefined
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
  readonly #out: WriteQueue
  readonly #writeBudgetBytes: number
  #now: () => number = () => 0

  constructor(
    index: number,
    connection: Connection,
    weight: number,
    priorRateBytesPerMs: number,
    writeBudgetBytes: number,
    now: number,
  ) {
    this.index = index
    this.connection = connection
    this.#out = new WriteQueue(connection)
    this.weight = weight
    this.meter = new SubflowMeter(priorRateBytesPerMs)
    this.lastRxAt = now
    this.#writeBudgetBytes = writeBudgetBytes
  }

  /**
   * Starts reading; `now` stamps every read for silence detection. What arrived before (frames
   * right after the mesh answer, or the connection's end while its flow waited for the other
   * paths) is delivered first.
   */
  attach(host: SubflowHost, now: () => number): void {
    this.owner = host
    this.#now = now
    this.connection.sink = this
    this.connection.resume()
  }

  onData(_conn: Connection, chunk: Buffer): void {
    const host = this.owner
    if (!this.alive || host === undefined) return
    this.lastRxAt = this.#now()
    try {
      this.#decoder.push(chunk, (frame) => {
        if (this.alive) host.onFrame(this, frame)
      })
    } catch (err) {
      host.onCorrupt(this, err as Error)
      return
    }
    if (this.alive) host.onReadDone(this)
  }

  onDrain(): void {
    if (!this.#out.flush()) return
    if (this.alive) this.owner?.onDrain(this)
  }

  onEnd(): void {
    this.owner?.onGone(this, undefined)
  }

  onClose(conn: Connection, cause: CloseCause): void {
    this.#out.clear()
    const host = this.owner
    if (host === undefined) return
    host.onGone(this, cause === 'reset' ? conn.closeError : undefined)
    host.onClosed(this)
  }

  get inflightBytes(): number {
    return Math.max(0, this.bytesSent - this.meter.delivered)
  }

  get writable(): boolean {
    return this.alive && this.#out.bytes < this.#writeBudgetBytes
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
    // One write, so that header and payload leave in one segment (no Nagle: Bun sets TCP_NODELAY).
    this.#out.write(encodeDataFrame(offset, payload))
    this.bytesSent += payload.length
    if (copy) this.retransmittedBytes += payload.length
  }

  writeFrame(frame: Buffer): void {
    if (this.alive) this.#out.write(frame)
  }

  /** Half-close once what was written is out: the session has finished or failed. */
  end(): void {
    this.#out.end()
  }

  /** Closes the connection now, what waits unsent dropped. */
  close(): void {
    this.#out.clear()
    this.connection.closeNow()
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
