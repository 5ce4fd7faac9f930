/**
 * Looks at the first bytes of a new mesh connection without taking them: the mesh port serves
 * data connections (kind open) and control channels (kind control), and the prefix says which.
 * The bytes are put back, so the handler that follows reads the whole header itself.
 */
import type { Socket } from 'node:net'
import { MeshConnectionClosedError, MeshHeaderTimeoutError } from '../../errors/index.ts'
import { readHeader } from '../../util/read-header.ts'

/** magic(4) version(1) kind(1) */
export const PREFIX_BYTES = 6

export async function peekPrefix(socket: Socket, timeoutMs: number): Promise<Buffer> {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`
  const { value } = await readHeader<Buffer>(socket, {
    // Nothing consumed: every byte read goes back for the handler.
    decode: (buf) =>
      buf.length >= PREFIX_BYTES
        ? { value: Buffer.from(buf.subarray(0, PREFIX_BYTES)), consumed: 0 }
        : { need: PREFIX_BYTES - buf.length },
    timeoutMs,
    closed: (received, cause) => new MeshConnectionClosedError(peer, received, cause && { cause }),
    timedOut: (received) => new MeshHeaderTimeoutError(peer, timeoutMs, received),
  })
  return value
}
