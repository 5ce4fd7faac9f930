/** Opening one connection to a peer's mesh port: TCP, or TLS with both sides authenticated. */
import type { PeerConfig } from '../config/types.ts'
import { PeerDialError } from '../errors/peer.ts'
import { connect } from '../socket/connect.ts'
import type { Connection } from '../socket/connection.ts'
import { formatHostPort } from '../util/host-port.ts'
import { meshClientTls, type PeerTlsOptions } from './peer-tls.ts'

export interface DialOptions {
  readonly peer: PeerConfig
  readonly tls?: PeerTlsOptions
  /** TCP connect plus TLS handshake. */
  readonly timeoutMs: number
}

export function peerAddress(peer: PeerConfig): string {
  return formatHostPort(peer.address.host, peer.address.port)
}

/**
 * Resolves with a connected (and, for TLS, handshaken and verified: the certificate stands for the
 * peer) connection with no owner yet; rejects with PeerDialError. A dial cannot be cancelled: it
 * ends within its timeout.
 */
export async function dialPeer(options: DialOptions): Promise<Connection> {
  const { peer, timeoutMs } = options
  const address = peerAddress(peer)
  if (peer.type === 'tls' && options.tls === undefined) {
    throw new PeerDialError(peer.name, address, 'peer type is tls but this node has no mesh.tls configured')
  }
  const tls =
    peer.type === 'tls' && options.tls !== undefined ? meshClientTls(options.tls, peer.name) : undefined
  try {
    return await connect(peer.address.host, peer.address.port, { timeoutMs, ...(tls && { tls }) })
  } catch (err) {
    const error = err as Error & { readonly code?: string }
    throw new PeerDialError(peer.name, address, describeFailure(error, timeoutMs), { cause: error })
  }
}

/** The errno of a failed connect, the timeout, or the TLS verdict (which names the peer). */
function describeFailure(error: Error & { readonly code?: string }, timeoutMs: number): string {
  if (error.code === 'DYN_ERR_UPSTREAM_CONNECT_TIMEOUT') return `timed out after ${timeoutMs}ms`
  const errno = (error.cause as { readonly code?: unknown } | undefined)?.code
  return typeof errno === 'string' ? errno : error.message
}
