/**
 * gRPC's message framing over an HTTP/2 stream: each message is a flag byte (0: not compressed),
 * its length as 4 bytes big-endian, then the message. Pure, so the reader is tested on any
 * chunking.
 */
import { Code, ConnectError } from '@connectrpc/connect'

const PREFIX_BYTES = 5

/** gRPC's customary limit; a node's report is a few kilobytes. */
export const READ_MAX_BYTES = 4 * 1024 * 1024

export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + message.length)
  out[0] = 0
  out.writeUInt32BE(message.length, 1)
  out.set(message, PREFIX_BYTES)
  return out
}

/** Splits a byte stream into messages, whatever its chunking; throws what a gRPC server answers. */
export class FrameReader {
  readonly #maxBytes: number
  #pending: Buffer = Buffer.alloc(0)

  constructor(maxBytes = READ_MAX_BYTES) {
    this.#maxBytes = maxBytes
  }

  /** The messages `chunk` completes, in order; a partial one waits for the next chunk. */
  push(chunk: Buffer): Uint8Array[] {
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk])
    const messages: Uint8Array[] = []
    while (buf.length >= PREFIX_BYTES) {
      if (buf[0] !== 0) throw new ConnectError('compressed messages are not accepted', Code.Internal)
      const length = buf.readUInt32BE(1)
      if (length > this.#maxBytes) {
        throw new ConnectError(
          `message size ${length} is larger than configured readMaxBytes ${this.#maxBytes}`,
          Code.ResourceExhausted,
        )
      }
      if (buf.length < PREFIX_BYTES + length) break
      messages.push(buf.subarray(PREFIX_BYTES, PREFIX_BYTES + length))
      buf = buf.subarray(PREFIX_BYTES + length)
    }
    this.#pending = buf
    return messages
  }

  /** Bytes of a message begun and not finished: at the end of the stream, a truncated message. */
  get pendingBytes(): number {
    return this.#pending.length
  }
}
