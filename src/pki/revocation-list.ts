/**
 * A certificate revocation list as a node applies it: the serial numbers it names. Reading and
 * signing lists takes the X.509 library (crl.ts); checking a certificate against one does not.
 */
import type { X509Certificate } from 'node:crypto'

export interface RevocationList {
  readonly file: string
  /** Serial numbers as `serialKey` writes them. */
  readonly serials: ReadonlySet<string>
  readonly thisUpdate: Date
  readonly nextUpdate: Date | undefined
}

/** A serial number as upper-case hex without leading zeros: Node and CRLs write them differently. */
export function serialKey(hex: string): string {
  return hex.replace(/^0+(?=.)/, '').toUpperCase()
}

export function isRevoked(list: RevocationList, cert: X509Certificate): boolean {
  return list.serials.has(serialKey(cert.serialNumber))
}
