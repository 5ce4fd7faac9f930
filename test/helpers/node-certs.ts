/**
 * Certificates for simulated nodes (tests, the control-plane bench): straight from the
 * scheduler's CA, without a join each. All share one key, so a certificate costs one signature
 * (about a millisecond); the scheduler binds each node id to that key like any other.
 */
import type { SecureClientSessionOptions } from 'node:http2'
import { newNodeKey, readCsr } from '../../src/pki/csr.ts'
import { issueNodeCertForKey, type PemPair } from '../../src/pki/issue.ts'
import { schedulerTlsOptions } from '../../src/scheduler-client/join.ts'

export interface NodeTls {
  readonly ca: string
  readonly key: string
  readonly cert: string
}

export interface NodeCertificates {
  /** A certificate for `nodeId`, made once and kept. */
  of(nodeId: string): Promise<NodeTls>
}

const VALID_MS = 2 * 86_400_000

export async function nodeCertificates(ca: PemPair): Promise<NodeCertificates> {
  const key = await newNodeKey('simulated')
  const { publicKey } = await readCsr(key.csr)
  const made = new Map<string, Promise<NodeTls>>()
  return {
    of(nodeId) {
      let tls = made.get(nodeId)
      if (tls === undefined) {
        tls = issueNodeCertForKey({ ca, nodeId, publicKey, validMs: VALID_MS }).then((cert) => ({
          ca: ca.certPem,
          key: key.keyPem,
          cert,
        }))
        made.set(nodeId, tls)
      }
      return tls
    },
  }
}

/** What `http2.connect` takes to reach the scheduler as that node, checking the scheduler as nodes do. */
export function nodeSessionOptions(tls: NodeTls): SecureClientSessionOptions {
  return schedulerTlsOptions(tls)
}
