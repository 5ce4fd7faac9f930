/**
 * TLS options for mesh connections. Both ends present a certificate from the mesh CA and both
 * verify the other's; the dialing side then checks that the certificate stands for the node it
 * meant to reach. The accepting side learns who dialed with `nodeIdentityOf(socket.getPeerCertificate())`.
 */
import type { ConnectionOptions, PeerCertificate, TlsOptions } from 'node:tls'
import { PkiPeerIdentityError } from '../errors/pki.ts'
import { nodeIdentityOf } from './identity.ts'

export interface MeshTlsKeys {
  readonly key: string | Buffer
  readonly cert: string | Buffer
  readonly ca: string | Buffer
}

/** Mesh connections are between dynproxy nodes only, so there is no older peer to accommodate. */
const MIN_VERSION = 'TLSv1.3'

export function meshServerTlsOptions(material: MeshTlsKeys): TlsOptions {
  return {
    key: material.key,
    cert: material.cert,
    ca: material.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: MIN_VERSION,
  }
}

/**
 * A check that accepts exactly a certificate for `peerName`. It replaces Node's hostname check:
 * peers are dialed by address, and the address says nothing about which node answers.
 */
export function checkMeshPeerIdentity(
  peerName: string,
): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const identity = nodeIdentityOf(cert)
    return identity === peerName ? undefined : new PkiPeerIdentityError(peerName, identity)
  }
}

export function meshClientTlsOptions(material: MeshTlsKeys, peerName: string): ConnectionOptions {
  return {
    key: material.key,
    cert: material.cert,
    ca: material.ca,
    servername: peerName,
    rejectUnauthorized: true,
    minVersion: MIN_VERSION,
    checkServerIdentity: checkMeshPeerIdentity(peerName),
  }
}
