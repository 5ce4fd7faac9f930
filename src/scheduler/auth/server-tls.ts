/**
 * The TLS of the scheduler's gRPC port: the scheduler's certificate (renewed in place at half its
 * life), the chain up to the CA so that a node joining with only the CA's fingerprint finds the CA
 * in the handshake, and client certificates asked for but not required: a joining node has none
 * yet. Streams and Resolve need one (gate.ts), Join does not.
 */
import type { SecureServerOptions } from 'node:http2'
import { issueSchedulerCert } from '../../pki/issue.ts'
import type { Clock } from '../../util/clock.ts'
import type { Authority } from './authority.ts'

/** A client that has not finished its TLS handshake within this is disconnected. */
export const HANDSHAKE_TIMEOUT_MS = 10_000

export async function serverTlsOptions(
  authority: Authority,
  schedulerId: string,
  validMs: number,
  clock: Clock,
  handshakeTimeoutMs = HANDSHAKE_TIMEOUT_MS,
): Promise<SecureServerOptions> {
  const own = await issueSchedulerCert({ ca: authority.ca, schedulerId, validMs, clock })
  return {
    key: own.keyPem,
    cert: own.certPem + authority.ca.certPem,
    ca: authority.ca.certPem,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
    handshakeTimeout: handshakeTimeoutMs,
  }
}
