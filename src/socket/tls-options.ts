/**
 * TLS options as Bun takes them, built so that they can never mean plaintext: Bun treats a `tls`
 * object whose fields are all undefined as no TLS at all, on listeners and dials alike.
 */
import type { X509Certificate } from 'node:crypto'
import type { TLSOptions } from 'bun'
import { SocketTlsOptionsError } from '../errors/socket.ts'

export type TlsVersion = 'TLSv1.2' | 'TLSv1.3'

export type PemInput = string | Buffer

export interface ServerTlsOptions {
  readonly cert: PemInput
  readonly key: PemInput
  readonly ca?: PemInput
  /** mTLS: a client certificate that verifies against `ca` is required. */
  readonly requestCert?: boolean
  readonly minVersion?: TlsVersion
}

export interface ClientTlsOptions {
  /** Trust anchors for the server's certificate; the system's when absent. */
  readonly ca?: PemInput
  /** Our certificate and key, for servers that require one (mTLS). */
  readonly cert?: PemInput
  readonly key?: PemInput
  /** The name sent as SNI and checked against the server's certificate; `expectIdentity` by default. */
  readonly servername?: string
  /** The node id the server's certificate must stand for (`pki/identity.ts`). */
  readonly expectIdentity?: string
  /** Checks the server's certificate further once it verified: an error refuses it (a revocation list). */
  readonly refuseCertificate?: (cert: X509Certificate) => Error | undefined
  readonly minVersion?: TlsVersion
}

/** Bun reads `minVersion` only as a number (a string throws), and its typings lack the field. */
export type BunTlsOptions = TLSOptions & { minVersion?: number }

const VERSION_NUMBERS: Readonly<Record<TlsVersion, number>> = { 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 }

export function tlsVersionNumber(version: TlsVersion | undefined): number | undefined {
  return version === undefined ? undefined : VERSION_NUMBERS[version]
}

function present(value: PemInput | undefined): boolean {
  return value !== undefined && value.length > 0
}

/** `owner` names the listener in the error. */
export function bunServerTls(owner: string, options: ServerTlsOptions): BunTlsOptions {
  const missing = [
    ...(present(options.cert) ? [] : ['a certificate']),
    ...(present(options.key) ? [] : ['a key']),
    ...(options.requestCert && !present(options.ca) ? ['a client CA (requestCert)'] : []),
  ]
  if (missing.length > 0) throw new SocketTlsOptionsError(owner, missing)
  const requestCert = options.requestCert === true
  return {
    cert: options.cert,
    key: options.key,
    ...(present(options.ca) && { ca: options.ca }),
    requestCert,
    // Bun then refuses what fails verification itself; the listener decides on `authorized` too,
    // because Bun reports an untrusted client certificate as a successful handshake.
    rejectUnauthorized: requestCert,
    ...(options.minVersion && { minVersion: tlsVersionNumber(options.minVersion) }),
  }
}

/** `rejectUnauthorized` is always set, so the object always asks for TLS. */
export function bunClientTls(options: ClientTlsOptions): BunTlsOptions {
  const servername = options.servername ?? options.expectIdentity
  return {
    ...(present(options.ca) && { ca: options.ca }),
    ...(present(options.cert) && { cert: options.cert }),
    ...(present(options.key) && { key: options.key }),
    ...(servername !== undefined && { servername }),
    rejectUnauthorized: true,
    ...(options.minVersion && { minVersion: tlsVersionNumber(options.minVersion) }),
  }
}

/**
 * A server accepts a handshake that succeeded; with client certificates required, only one whose
 * certificate verified (`authorized`): Bun calls a client certificate from an untrusted CA a success.
 */
export function acceptsClientHandshake(success: boolean, authorized: boolean, requestCert: boolean): boolean {
  return requestCert ? success && authorized : success
}
