/**
 * Fingerprints, as lowercase hex SHA-256: of a certificate (its DER), which a join token pins the
 * CA by, and of a public key (its SubjectPublicKeyInfo DER), which a node id is bound to.
 */
import { createHash, X509Certificate } from 'node:crypto'

export function keyHashOf(spkiDer: Uint8Array): string {
  return createHash('sha256').update(spkiDer).digest('hex')
}

export function certFingerprintOf(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex')
}

/** The fingerprint of the first certificate of a PEM text. */
export function pemFingerprintOf(pem: string): string {
  return certFingerprintOf(new X509Certificate(pem).raw)
}

/** The hash of a certificate's public key, as `keyHashOf` computes it for requests. */
export function certKeyHashOf(der: Uint8Array): string {
  const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' })
  return keyHashOf(spki)
}
