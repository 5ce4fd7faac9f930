/**
 * Framed messages on the control channel after the hello, both ways:
 *
 *   type u8 | length u16 BE | payload (length bytes)
 *
 * PING (1) and PONG (2) carry `seq u32 | echo u64`; a PONG repeats its PING's payload. Every type
 * has a fixed payload length, so the reader refuses a wrong length as soon as it is known and
 * never holds more than one frame: a peer sending garbage or huge lengths costs nothing.
 */
import { ControlFrameError } from '../../errors/peer.ts'

export const FrameType = { ping: 0x01, pong: 0x02 } as const

export type ControlFrameKind = keyof typeof FrameType

export interface ControlFrame {
  readonly kind: ControlFrameKind
  /** Probe sequence number, chosen by the PING's sender. */
  readonly seq: number
  /** Opaque to the receiver of a PING; its sender uses it to time the round trip. */
  readonly echo: bigint
}

export const FRAME_HEAD_BYTES = 3
export const PROBE_PAYLOAD_BYTES = 12
export const MAX_FRAME_BYTES = FRAME_HEAD_BYTES + PROBE_PAYLOAD_BYTES

const KIND_BY_TYPE: ReadonlyMap<number, ControlFrameKind> = new Map([
  [FrameType.ping, 'ping'],
  [FrameType.pong, 'pong'],
])

const MAX_U64 = (1n << 64n) - 1n

export function encodeControlFrame(frame: ControlFrame): Buffer {
  if (!Number.isInteger(frame.seq) || frame.seq < 0 || frame.seq > 0xffff_ffff) {
    throw new RangeError(`control frame seq ${frame.seq} is not a u32`)
  }
  if (frame.echo < 0n || frame.echo > MAX_U64) {
    throw new RangeError(`control frame echo ${frame.echo} is not a u64`)
  }
  const buf = Buffer.allocUnsafe(MAX_FRAME_BYTES)
  buf[0] = FrameType[frame.kind]
  buf.writeUInt16BE(PROBE_PAYLOAD_BYTES, 1)
  buf.writeUInt32BE(frame.seq, 3)
  buf.writeBigUInt64BE(frame.echo, 7)
  return buf
}

/**
 * Incremental reader: feed it chunks as they arrive. It keeps at most one partial frame (15
 * bytes) between chunks and throws ControlFrameError at the first byte that breaks the protocol.
 */
export class ControlFrameReader {
  readonly #partial = Buffer.alloc(MAX_FRAME_BYTES)
  #have = 0

  /** Calls `onFrame` for every complete frame in `chunk`, in order. */
  push(chunk: Buffer, onFrame: (frame: ControlFrame) => void): void {
    let off = 0
    while (off < chunk.length) {
      const take = Math.min(this.#wanted() - this.#have, chunk.length - off)
      chunk.copy(this.#partial, this.#have, off, off + take)
      off += take
      this.#have += take
      this.#check()
      if (this.#have === MAX_FRAME_BYTES) {
        this.#have = 0
        onFrame(decodeProbe(this.#partial))
      }
    }
  }

  #wanted(): number {
    return this.#have < FRAME_HEAD_BYTES ? FRAME_HEAD_BYTES : MAX_FRAME_BYTES
  }

  #check(): void {
    if (this.#have >= 1 && !KIND_BY_TYPE.has(this.#partial[0]!)) {
      throw new ControlFrameError(`unknown type 0x${this.#partial[0]!.toString(16).padStart(2, '0')}`)
    }
    if (this.#have >= FRAME_HEAD_BYTES) {
      const length = this.#partial.readUInt16BE(1)
      if (length !== PROBE_PAYLOAD_BYTES) {
        throw new ControlFrameError(`length ${length} of a probe frame, expected ${PROBE_PAYLOAD_BYTES}`)
      }
    }
  }
}

function decodeProbe(buf: Buffer): ControlFrame {
  return {
    kind: KIND_BY_TYPE.get(buf[0]!)!,
    seq: buf.readUInt32BE(3),
    echo: buf.readBigUInt64BE(7),
  }
}
