/**
 * Who is at the other end of a connection to the scheduler's gRPC port, as TLS proved it: a node
 * (a client certificate from the mesh CA whose identity is a node id), or nobody in particular
 * (no certificate, or one that did not verify), or anyone at all when the port runs insecure.
 * Computed once per connection: every stream and call on it acts for that peer only.
 */
import type { Http2Session } from 'node:http2'
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { certKeyHashOf } from '../../pki/fingerprint.ts'
import { nodeIdentityOf } from '../../pki/identity.ts'

export type Peer =
  | { readonly kind: 'node'; readonly nodeId: string; readonly keyHash: string; readonly address: string }
  | { readonly kind: 'anonymous'; readonly reason: string; readonly address: string }
  /** `scheduler.insecure`: nothing is proved; the hello's node id is taken as said. */
  | { readonly kind: 'insecure'; readonly address: string }

const known = new WeakMap<Http2Session, Peer>()

/** The peer of an HTTP/2 connection (`undefined` session: a request whose connection is gone). */
export function peerOf(session: Http2Session | undefined, insecure: boolean): Peer {
  if (session === undefined)
    return { kind: 'anonymous', reason: 'its connection is closed', address: 'a closed connection' }
  const cached = known.get(session)
  if (cached) return cached
  const socket = session.socket
  const peer = insecure
    ? { kind: 'insecure' as const, address: addressOf(socket) }
    : certifiedPeer(socket as TLSSocket)
  known.set(session, peer)
  return peer
}

function addressOf(socket: Socket): string {
  return socket.remoteAddress ?? 'an unknown address'
}

function certifiedPeer(socket: TLSSocket): Peer {
  const address = addressOf(socket)
  if (typeof socket.getPeerCertificate !== 'function')
    return { kind: 'anonymous', reason: 'the connection is not TLS', address }
  const cert = socket.getPeerCertificate()
  if (!cert?.raw) return { kind: 'anonymous', reason: 'it sent no certificate', address }
  if (!socket.authorized) {
    const why = String(socket.authorizationError ?? 'unknown reason')
    return {
      kind: 'anonymous',
      reason: `its certificate did not verify against the mesh CA (${why})`,
      address,
    }
  }
  const nodeId = nodeIdentityOf(cert)
  if (nodeId === undefined) return { kind: 'anonymous', reason: 'its certificate names no node id', address }
  return { kind: 'node', nodeId, keyHash: certKeyHashOf(cert.raw), address }
}
