/**
 * Mutual TLS between nodes, with the mesh PKI's rules (src/pki), as the socket layer takes it: both
 * sides present a certificate from the mesh CA; the dialer accepts only a certificate whose node
 * identity is the peer it meant to reach (checked by the dial itself: Bun ignores
 * `checkServerIdentity`), and the answering side takes the dialer's node id from its certificate.
 */
import type { MeshTlsKeys } from '../pki/tls-options.ts'
import type { ClientTlsOptions, ServerTlsOptions } from '../socket/tls-options.ts'
import type { Revocations } from './security/revocations.ts'

/** PEM: this node's key and certificate, and the CA every node's certificate chains to. */
export interface PeerTlsOptions extends MeshTlsKeys {
  /** Certificates the mesh CA revoked (`mesh.tls.crl`); absent: none. */
  readonly revocations?: Revocations
}

/** Mesh connections are between dynproxy nodes only, so there is no older peer to accommodate. */
const MIN_VERSION = 'TLSv1.3'

/** The mesh port: a client certificate from the mesh CA is required. */
export function meshServerTls(keys: PeerTlsOptions): ServerTlsOptions {
  return { key: keys.key, cert: keys.cert, ca: keys.ca, requestCert: true, minVersion: MIN_VERSION }
}

/**
 * A dial to `peerName`'s mesh port: its certificate must chain to the mesh CA and stand for
 * `peerName` (the name also goes as SNI); ours goes along for its check.
 */
export function meshClientTls(keys: PeerTlsOptions, peerName: string): ClientTlsOptions {
  return {
    key: keys.key,
    cert: keys.cert,
    ca: keys.ca,
    expectIdentity: peerName,
    minVersion: MIN_VERSION,
    ...(keys.revocations && {
      refuseCertificate: (cert) => keys.revocations?.refusal(cert, `peer ${peerName}`),
    }),
  }
}
