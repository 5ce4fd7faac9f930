/**
 * The frame codec of a framed (multipath) subflow. After the mesh header handshake a subflow is a
 * plain byte stream of frames, the same in both directions:
 *
 *   DATA  0x01  offset u64 | length u32 | payload (1..MAX_PAYLOAD_BYTES)
 *   ACK   0x02  flags u8 (bit 0: FIN received) | cumulative u64 | limit u64 | subflow received u64
 *   FIN   0x03  final offset u64
 *   PING  0x04  stamp f64 (opaque to the receiver, echoed)
 *   PONG  0x05  stamp f64
 *   RESET 0x06  reason u16
 *
 * Sequence numbers are byte offsets in the flow's stream (like QUIC stream offsets): cumulative
 * acknowledgements, credit limits and the FIN all speak the same unit. They are u64 on the wire
 * and never wrap; a value beyond 2^53 is rejected, which no flow reaches (8 PiB).
 */
import { MultipathFrameError } from '../errors/multipath.ts'

export const MAX_PAYLOAD_BYTES = 64 * 1024

export const FRAME_TYPES = { data: 0x01, ack: 0x02, fin: 0x03, ping: 0x04, pong: 0x05, reset: 0x06 } as const

export const DATA_HEADER_BYTES = 13
const ACK_BYTES = 26
const FIN_BYTES = 9
const PING_BYTES = 9
const RESET_BYTES = 3
const ACK_FIN_RECEIVED = 0x01

export const RESET_REASONS = ['aborted', 'local_failed', 'protocol_error', 'subflows_lost'] as const
export type ResetReason = (typeof RESET_REASONS)[number]

export type Frame =
  | { readonly type: 'data'; readonly offset: number; readonly payload: Buffer }
  | {
      readonly type: 'ack'
      /** Every byte below this offset has arrived in order at the sender of the ack. */
      readonly cumulative: number
      /** The receiver accepts bytes below this offset: its credit. */
      readonly limit: number
      /** Payload bytes of DATA the ack's sender has received on the subflow the ack travels on. */
      readonly subflowReceived: number
      readonly finReceived: boolean
    }
  | { readonly type: 'fin'; readonly finalOffset: number }
  | { readonly type: 'ping'; readonly stamp: number }
  | { readonly type: 'pong'; readonly stamp: number }
  | { readonly type: 'reset'; readonly reason: ResetReason }

export type AckFrame = Extract<Frame, { type: 'ack' }>

export function encodeDataHeader(offset: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(DATA_HEADER_BYTES)
  buf[0] = FRAME_TYPES.data
  buf.writeBigUInt64BE(BigInt(offset), 1)
  buf.writeUInt32BE(length, 9)
  return buf
}

export function encodeAck(ack: Omit<AckFrame, 'type'>): Buffer {
  const buf = Buffer.allocUnsafe(ACK_BYTES)
  buf[0] = FRAME_TYPES.ack
  buf[1] = ack.finReceived ? ACK_FIN_RECEIVED : 0
  buf.writeBigUInt64BE(BigInt(ack.cumulative), 2)
  buf.writeBigUInt64BE(BigInt(ack.limit), 10)
  buf.writeBigUInt64BE(BigInt(ack.subflowReceived), 18)
  return buf
}

export function encodeFin(finalOffset: number): Buffer {
  const buf = Buffer.allocUnsafe(FIN_BYTES)
  buf[0] = FRAME_TYPES.fin
  buf.writeBigUInt64BE(BigInt(finalOffset), 1)
  return buf
}

export function encodePing(stamp: number): Buffer {
  return encodeStamp(FRAME_TYPES.ping, stamp)
}

export function encodePong(stamp: number): Buffer {
  return encodeStamp(FRAME_TYPES.pong, stamp)
}

export function encodeReset(reason: ResetReason): Buffer {
  const buf = Buffer.allocUnsafe(RESET_BYTES)
  buf[0] = FRAME_TYPES.reset
  buf.writeUInt16BE(RESET_REASONS.indexOf(reason), 1)
  return buf
}

function encodeStamp(type: number, stamp: number): Buffer {
  const buf = Buffer.allocUnsafe(PING_BYTES)
  buf[0] = type
  buf.writeDoubleBE(stamp, 1)
  return buf
}

/**
 * Decodes frames from a byte stream delivered in arbitrary pieces. It holds at most one
 * incomplete frame (≤ DATA_HEADER_BYTES + MAX_PAYLOAD_BYTES): a header declaring more is rejected
 * before its payload is awaited. Payloads are views of buffers the decoder never reuses, so a
 * caller may keep them.
 *
 * A frame split across chunks is copied once into a buffer of its own size, so each byte is
 * copied at most once: joining the held bytes with every new chunk cost 0.8 s of CPU for one
 * 64 KiB frame sent a byte at a time.
 */
export class FrameDecoder {
  /** The start of a frame split across chunks: sized for the frame, or for a data header until it is whole. */
  #partial: Buffer | undefined
  #held = 0

  /** Bytes held while waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.#held
  }

  /** Calls `onFrame` for every complete frame; throws MultipathFrameError on the first bad byte. */
  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    let at = this.#partial === undefined ? 0 : this.#fill(chunk, onFrame)
    while (at < chunk.length) {
      const size = frameSize(chunk, at)
      if (size === undefined || at + size > chunk.length) {
        this.#hold(chunk.subarray(at), size ?? DATA_HEADER_BYTES)
        return
      }
      onFrame(decodeFrame(chunk, at, size))
      at += size
    }
  }

  /** Moves the start of `chunk` into the held frame, emitting it once whole; returns the bytes taken. */
  #fill(chunk: Buffer, onFrame: (frame: Frame) => void): number {
    let taken = 0
    while (this.#partial !== undefined && taken < chunk.length) {
      const partial = this.#partial
      const copied = chunk.copy(partial, this.#held, taken, taken + partial.length - this.#held)
      taken += copied
      this.#held += copied
      if (this.#held < partial.length) return taken
      // Whole, so its header is too: the size is known.
      const size = frameSize(partial, 0) as number
      if (size > partial.length) {
        // A data header just became whole: room for its payload too.
        this.#partial = Buffer.allocUnsafe(size)
        partial.copy(this.#partial)
        continue
      }
      this.#partial = undefined
      this.#held = 0
      onFrame(decodeFrame(partial, 0, size))
    }
    return taken
  }

  #hold(start: Buffer, size: number): void {
    this.#partial = Buffer.allocUnsafe(size)
    this.#held = start.copy(this.#partial)
  }
}

/** The full size of the frame starting at `at`, or undefined while its header is incomplete. */
function frameSize(buf: Buffer, at: number): number | undefined {
  const type = buf[at] as number
  switch (type) {
    case FRAME_TYPES.data: {
      if (buf.length - at < DATA_HEADER_BYTES) return undefined
      const length = buf.readUInt32BE(at + 9)
      if (length === 0 || length > MAX_PAYLOAD_BYTES) {
        throw new MultipathFrameError(`data length ${length} is outside 1..${MAX_PAYLOAD_BYTES}`)
      }
      return DATA_HEADER_BYTES + length
    }
    case FRAME_TYPES.ack:
      return ACK_BYTES
    case FRAME_TYPES.fin:
      return FIN_BYTES
    case FRAME_TYPES.ping:
    case FRAME_TYPES.pong:
      return PING_BYTES
    case FRAME_TYPES.reset:
      return RESET_BYTES
    default:
      throw new MultipathFrameError(`unknown frame type 0x${type.toString(16).padStart(2, '0')}`)
  }
}

function decodeFrame(buf: Buffer, at: number, size: number): Frame {
  switch (buf[at]) {
    case FRAME_TYPES.data:
      return {
        type: 'data',
        offset: u64(buf, at + 1, 'data offset'),
        payload: buf.subarray(at + 13, at + size),
      }
    case FRAME_TYPES.ack:
      return decodeAck(buf, at)
    case FRAME_TYPES.fin:
      return { type: 'fin', finalOffset: u64(buf, at + 1, 'fin offset') }
    case FRAME_TYPES.ping:
      return { type: 'ping', stamp: buf.readDoubleBE(at + 1) }
    case FRAME_TYPES.pong:
      return { type: 'pong', stamp: buf.readDoubleBE(at + 1) }
    default:
      return { type: 'reset', reason: decodeReason(buf.readUInt16BE(at + 1)) }
  }
}

function decodeAck(buf: Buffer, at: number): AckFrame {
  const flags = buf[at + 1] as number
  if ((flags & ~ACK_FIN_RECEIVED) !== 0) {
    throw new MultipathFrameError(`ack flags 0x${flags.toString(16)} has unknown bits`)
  }
  return {
    type: 'ack',
    finReceived: (flags & ACK_FIN_RECEIVED) !== 0,
    cumulative: u64(buf, at + 2, 'ack cumulative'),
    limit: u64(buf, at + 10, 'ack limit'),
    subflowReceived: u64(buf, at + 18, 'ack subflow received'),
  }
}

function decodeReason(code: number): ResetReason {
  const reason = RESET_REASONS[code]
  if (reason === undefined) throw new MultipathFrameError(`reset reason ${code} is unknown`)
  return reason
}

function u64(buf: Buffer, at: number, field: string): number {
  const value = buf.readBigUInt64BE(at)
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new MultipathFrameError(`${field} ${value} is beyond 2^53`)
  }
  return Number(value)
}
