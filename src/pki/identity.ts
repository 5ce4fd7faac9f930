import { X509Certificate } from 'node:crypto'
import type { PeerCertificate } from 'node:tls'
import { isNodeId } from './names.ts'

/**
 * The node id a mesh certificate stands for: the first DNS entry of its subject alternative names,
 * else its subject CN; `undefined` when neither is a valid node name (so an empty peer certificate,
 * a wildcard or an address never passes for a node).
 */
export function nodeIdentityOf(cert: PeerCertificate | X509Certificate): string | undefined {
  const fromSan = firstDnsName(cert instanceof X509Certificate ? cert.subjectAltName : cert.subjectaltname)
  if (fromSan !== undefined) return isNodeId(fromSan) ? fromSan : undefined
  const cn = cert instanceof X509Certificate ? commonNameOf(cert.subject) : peerCommonName(cert)
  return cn !== undefined && isNodeId(cn) ? cn : undefined
}

/** Node prints SANs as `DNS:a, IP Address:1.2.3.4`; entries with unusual characters are JSON-quoted. */
function firstDnsName(subjectAltName: string | undefined): string | undefined {
  if (!subjectAltName) return undefined
  for (const entry of subjectAltName.split(', ')) {
    if (entry.startsWith('DNS:')) return entry.slice(4)
  }
  return undefined
}

/** `X509Certificate.subject` is one `KEY=value` attribute a line. */
function commonNameOf(subject: string | undefined): string | undefined {
  const line = subject?.split('\n').find((l) => l.startsWith('CN='))
  return line?.slice(3)
}

/** A peer certificate's subject may be absent (no certificate) or repeat CN (an array). */
function peerCommonName(cert: PeerCertificate): string | undefined {
  const cn: unknown = (cert.subject as PeerCertificate['subject'] | undefined)?.CN
  if (typeof cn === 'string') return cn
  return Array.isArray(cn) && typeof cn[0] === 'string' ? cn[0] : undefined
}
