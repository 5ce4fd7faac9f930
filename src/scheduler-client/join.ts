/**
 * The node's side of a join, as kubeadm's discovery does it: the node knows the CA only by the
 * fingerprint in its join token, so it first reads the certificates the scheduler presents, keeps
 * the one with that fingerprint as the CA, and from then on verifies the scheduler against it like
 * any TLS client (chain, and the scheduler's identity). Only then does the secret go out, with a
 * certificate request for the node's key. A renewal skips the discovery: the node has the CA, and
 * proves itself with its current certificate.
 */
import { X509Certificate } from 'node:crypto'
import tls, { type DetailedPeerCertificate } from 'node:tls'
import { create } from '@bufbuild/protobuf'
import { createClient } from '@connectrpc/connect'
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node'
import type { HostPort } from '../config/types.ts'
import { SchedulerCaMismatchError, SchedulerJoinError } from '../errors/scheduler-auth.ts'
import { JoinRequestSchema, TrafficSchedulerService } from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { certFingerprintOf, certKeyHashOf, pemFingerprintOf } from '../pki/fingerprint.ts'
import { nodeIdentityOf } from '../pki/identity.ts'
import { checkSchedulerIdentity } from '../pki/scheduler-identity.ts'
import { formatHostPort } from '../util/host-port.ts'

/** What the scheduler's TLS is checked against, and what the node presents (a renewal). */
export interface SchedulerTls {
  readonly ca: string
  readonly key?: string
  readonly cert?: string
}

export const SCHEDULER_TLS_MIN_VERSION = 'TLSv1.3'

/** Options for `tls.connect`/`http2.connect` to a scheduler: its CA, its identity, our certificate if any. */
export function schedulerTlsOptions(material: SchedulerTls): tls.ConnectionOptions {
  return {
    ca: material.ca,
    ...(material.key !== undefined &&
      material.cert !== undefined && { key: material.key, cert: material.cert }),
    rejectUnauthorized: true,
    minVersion: SCHEDULER_TLS_MIN_VERSION,
    checkServerIdentity: checkSchedulerIdentity,
  }
}

/**
 * The PEM of the CA certificate with `fingerprint` among those the scheduler at `address`
 * presents. Nothing is sent: the handshake is all this reads, and nothing it shows is trusted
 * except by that fingerprint.
 */
export function discoverCa(address: HostPort, fingerprint: string, timeoutMs: number): Promise<string> {
  const where = formatHostPort(address.host, address.port)
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: address.host,
      port: address.port,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      minVersion: SCHEDULER_TLS_MIN_VERSION,
    })
    const timer = setTimeout(
      () => fail(new SchedulerJoinError(where, `no TLS handshake within ${timeoutMs}ms`)),
      timeoutMs,
    )
    const fail = (err: Error) => {
      clearTimeout(timer)
      socket.destroy()
      reject(err)
    }
    socket.once('error', (err: Error) => fail(new SchedulerJoinError(where, err.message, { cause: err })))
    socket.once('secureConnect', () => {
      const found = chainOf(socket.getPeerCertificate(true)).find(
        (c) => certFingerprintOf(c.raw) === fingerprint,
      )
      clearTimeout(timer)
      socket.destroy()
      if (found === undefined) reject(new SchedulerCaMismatchError(where, fingerprint))
      else resolve(new X509Certificate(found.raw).toString())
    })
  })
}

/** The presented chain, leaf first; a self-signed root points at itself, so stop at a repeat. */
function chainOf(leaf: DetailedPeerCertificate): DetailedPeerCertificate[] {
  const out: DetailedPeerCertificate[] = []
  let cert: DetailedPeerCertificate | undefined = leaf
  while (cert?.raw !== undefined && !out.includes(cert)) {
    out.push(cert)
    cert = cert.issuerCertificate
  }
  return out
}

export interface JoinAsk {
  readonly nodeId: string
  /** The join token's secret; '' for a renewal over mutual TLS. */
  readonly secret: string
  readonly csr: Uint8Array
  /** The hash of the key the request is for: the certificate must be for it. */
  readonly keyHash: string
}

export interface JoinAnswer {
  readonly certPem: string
  readonly caPem: string
}

/** Asks the scheduler for a certificate; checks that it is for this node, this key, and the CA it trusts. */
export async function requestCertificate(
  address: HostPort,
  material: SchedulerTls,
  ask: JoinAsk,
  timeoutMs: number,
): Promise<JoinAnswer> {
  const where = formatHostPort(address.host, address.port)
  const baseUrl = `https://${where}`
  const manager = new Http2SessionManager(baseUrl, {}, schedulerTlsOptions(material))
  const client = createClient(
    TrafficSchedulerService,
    createGrpcTransport({ baseUrl, sessionManager: manager }),
  )
  try {
    const answer = await client.join(
      create(JoinRequestSchema, { nodeId: ask.nodeId, secret: ask.secret, csr: ask.csr }),
      { timeoutMs },
    )
    const problem = answerProblem(answer.certificate, answer.caCertificate, material.ca, ask)
    if (problem !== undefined) throw new SchedulerJoinError(where, problem)
    return { certPem: answer.certificate, caPem: answer.caCertificate }
  } catch (err) {
    if (err instanceof SchedulerJoinError) throw err
    throw new SchedulerJoinError(where, err instanceof Error ? err.message : String(err), { cause: err })
  } finally {
    manager.abort()
  }
}

function answerProblem(certPem: string, caPem: string, trusted: string, ask: JoinAsk): string | undefined {
  let cert: X509Certificate
  let ca: X509Certificate
  try {
    cert = new X509Certificate(certPem)
    ca = new X509Certificate(caPem)
  } catch {
    return 'the scheduler answered with no PEM certificate'
  }
  if (pemFingerprintOf(caPem) !== pemFingerprintOf(trusted))
    return 'the scheduler answered with another CA than its own'
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'the certificate is not signed by the CA'
  if (nodeIdentityOf(cert) !== ask.nodeId)
    return `the certificate is for ${JSON.stringify(nodeIdentityOf(cert) ?? null)}, not ${ask.nodeId}`
  if (certKeyHashOf(cert.raw) !== ask.keyHash) return 'the certificate is for another key'
  return undefined
}
