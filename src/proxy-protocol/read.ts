/**
 * Takes a PROXY protocol header off a new connection; every later byte stays in the connection, so
 * the flow relays the client's bytes untouched (socket/read-header.ts's contract).
 */
import { ProxyHeaderIncompleteError } from '../errors/proxy-protocol.ts'
import type { Connection } from '../socket/connection.ts'
import { readHeader } from '../socket/read-header.ts'
import { decodeProxyHeader, type ProxyHeader } from './header.ts'

/** How long a load balancer may take to send the header: it sends it with its first segment. */
export const PROXY_HEADER_TIMEOUT_MS = 5_000

export async function readProxyHeader(
  conn: Connection,
  timeoutMs = PROXY_HEADER_TIMEOUT_MS,
): Promise<ProxyHeader> {
  const { value } = await readHeader(conn, {
    decode: (buf) => {
      const r = decodeProxyHeader(buf)
      return 'need' in r ? r : { value: r.header, consumed: r.consumed }
    },
    timeoutMs,
    closed: (received) => new ProxyHeaderIncompleteError('the connection ended', received),
    timedOut: (received) =>
      new ProxyHeaderIncompleteError(`nothing complete within ${timeoutMs}ms`, received),
  })
  return value
}
