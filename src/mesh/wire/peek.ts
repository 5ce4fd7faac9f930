/**
 * Looks at the first bytes of a new mesh connection without taking them: the mesh port serves
 * data connections (kind open) and control channels (kind control), and the prefix says which.
 * The bytes stay in the connection, so the handler that follows reads the whole header itself.
 */
import { MeshConnectionClosedError, MeshHeaderTimeoutError } from '../../errors/index.ts'
import type { Connection } from '../../socket/connection.ts'
import { readHeader } from '../../socket/read-header.ts'

/** magic(4) version(1) kind(1) */
export const PREFIX_BYTES = 6

export async function peekPrefix(conn: Connection, timeoutMs: number): Promise<Buffer> {
  const peer = peerOf(conn)
  const { value } = await readHeader<Buffer>(conn, {
    // Nothing consumed: every byte read stays for the handler.
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

/** The peer as errors name it; read once, while the connection is open. */
export function peerOf(conn: Connection): string {
  const { remoteAddress, remotePort } = conn.addresses()
  return `${remoteAddress}:${remotePort}`
}
