/**
 * How a node knows it talks to a scheduler: the certificate chains to the mesh CA and carries
 * the scheduler's SPIFFE-style URI. A node's certificate, from the same CA, never carries it, so
 * a node cannot pose as the scheduler to other nodes.
 */
import type { PeerCertificate } from 'node:tls'
import { SchedulerPeerIdentityError } from '../errors/scheduler-auth.ts'

export const SCHEDULER_IDENTITY_URI = 'spiffe://dynproxy/scheduler'

/** Whether a certificate's subject alternative names include the scheduler's URI. */
export function isSchedulerCertificate(subjectAltName: string | undefined): boolean {
  if (!subjectAltName) return false
  return subjectAltName.split(', ').some((entry) => entry === `URI:${SCHEDULER_IDENTITY_URI}`)
}

/** A `checkServerIdentity` for TLS connections to a scheduler: the address dialed says nothing. */
export function checkSchedulerIdentity(_host: string, cert: PeerCertificate): Error | undefined {
  if (isSchedulerCertificate(cert.subjectaltname)) return undefined
  const cn: unknown = (cert.subject as PeerCertificate['subject'] | undefined)?.CN
  return new SchedulerPeerIdentityError(typeof cn === 'string' ? cn : undefined)
}
