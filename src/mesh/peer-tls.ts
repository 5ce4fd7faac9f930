/**
 * Mutual TLS between nodes, with the mesh PKI's rules (src/pki): both sides present a certificate
 * from the mesh CA; the dialer accepts only a certificate whose node identity is the peer it meant
 * to reach, and the answering side takes the dialer's node id from its certificate.
 */
import type { TLSSocket } from 'node:tls'
import { nodeIdentityOf } from '../pki/identity.ts'
import type { MeshTlsKeys } from '../pki/tls-options.ts'

/** PEM: this node's key and certificate, and the CA every node's certificate chains to. */
export type PeerTlsOptions = MeshTlsKeys

/**
 * The node id a verified client certificate stands for, for `acceptControl`; undefined when the
 * client presented no certificate the CA vouches for, or one naming no valid node id.
 */
export function tlsPeerIdentity(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined
  return nodeIdentityOf(socket.getPeerCertificate())
}
