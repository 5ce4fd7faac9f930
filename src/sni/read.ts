/**
 * Reads the server name of a new connection's TLS ClientHello and leaves every byte in the
 * connection, so the flow relays the handshake untouched to whichever target the name routes it to
 * (socket/read-header.ts's contract: the caller owns the connection again when the promise settles).
 */
import { SniClientHelloIncompleteError } from '../errors/sni.ts'
import type { Connection } from '../socket/connection.ts'
import { readHeader } from '../socket/read-header.ts'
import { scanClientHello } from './client-hello.ts'

/** A TLS client sends its ClientHello with its first segment: waiting longer serves no one. */
export const CLIENT_HELLO_TIMEOUT_MS = 5_000

/** The server name; undefined when the client speaks no TLS or names no server. */
export async function readServerName(
  conn: Connection,
  timeoutMs = CLIENT_HELLO_TIMEOUT_MS,
): Promise<string | undefined> {
  const { value } = await readHeader<string | undefined>(conn, {
    decode: (buf) => {
      const scan = scanClientHello(buf)
      if (scan.kind === 'need') return { need: scan.bytes }
      return { value: scan.kind === 'sni' ? scan.serverName : undefined, consumed: 0 }
    },
    timeoutMs,
    closed: (received) => new SniClientHelloIncompleteError('the connection ended', received),
    timedOut: (received) =>
      new SniClientHelloIncompleteError(`nothing complete within ${timeoutMs}ms`, received),
  })
  return value
}
