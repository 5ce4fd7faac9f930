/**
 * The revocation list a node applies now (`mesh.tls.crl`): replaced whole at a reload, consulted
 * once per mesh connection, after its TLS handshake, on both sides.
 */
import type { X509Certificate } from 'node:crypto'
import { PkiCertificateRevokedError } from '../../errors/pki.ts'
import { isRevoked, type RevocationList } from '../../pki/revocation-list.ts'

export class Revocations {
  #list: RevocationList | undefined = undefined

  get list(): RevocationList | undefined {
    return this.#list
  }

  replace(list: RevocationList): void {
    this.#list = list
  }

  /** Why `whose` certificate is refused, or undefined when the list does not name it. */
  refusal(cert: X509Certificate, whose: string): PkiCertificateRevokedError | undefined {
    const list = this.#list
    if (list === undefined || !isRevoked(list, cert)) return undefined
    return new PkiCertificateRevokedError(whose, cert.serialNumber, list.file)
  }
}
