import { nodeIdentityOf } from '../pki/identity.ts'
import type { Connection } from './connection.ts'

/** The node id the peer's TLS certificate stands for; undefined without one or for a non-node name. */
export function peerNodeId(conn: Connection): string | undefined {
  const cert = conn.peerCertificate()
  return cert === undefined ? undefined : nodeIdentityOf(cert)
}
