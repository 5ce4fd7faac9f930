/**
 * Certificate requests for joining a scheduler: the node makes a key and signs a PKCS#10 request
 * with it, so the scheduler learns the public key and that the node holds its private half. The
 * scheduler ignores the request's subject: the node id comes from the join itself.
 */
import 'reflect-metadata'
import { createPrivateKey, createPublicKey, type webcrypto } from 'node:crypto'
import { Pkcs10CertificateRequest, Pkcs10CertificateRequestGenerator, type PublicKey } from '@peculiar/x509'
import { SchedulerCsrError } from '../errors/scheduler-auth.ts'
import { keyHashOf } from './fingerprint.ts'
import { ALGORITHM, generateKeys, privateKeyPem, SIGNING } from './issue.ts'

export interface NodeKey {
  readonly keyPem: string
  /** DER PKCS#10 request signed by that key. */
  readonly csr: Uint8Array
}

/** A CSR is a few hundred bytes; a larger one is not a request this code made. */
const MAX_CSR_BYTES = 4096

/** A new P-256 key and a request for it. */
export async function newNodeKey(nodeId: string): Promise<NodeKey> {
  const keys = await generateKeys()
  return { keyPem: await privateKeyPem(keys.privateKey), csr: await requestFor(keys, nodeId) }
}

/** A request for a key the node already has (renewals keep the key its node id is bound to). */
export async function csrForKey(keyPem: string, nodeId: string): Promise<Uint8Array> {
  const privateObject = createPrivateKey(keyPem)
  const publicObject = createPublicKey(privateObject)
  const keys = {
    privateKey: privateObject.toCryptoKey(ALGORITHM, false, ['sign']),
    publicKey: publicObject.toCryptoKey(ALGORITHM, true, ['verify']),
  }
  return requestFor(keys, nodeId)
}

async function requestFor(keys: webcrypto.CryptoKeyPair, nodeId: string): Promise<Uint8Array> {
  const csr = await Pkcs10CertificateRequestGenerator.create(
    { name: [{ CN: [nodeId] }], keys, signingAlgorithm: SIGNING },
    globalThis.crypto,
  )
  return new Uint8Array(csr.rawData)
}

export interface CheckedRequest {
  readonly publicKey: PublicKey
  /** sha256 of the key's SubjectPublicKeyInfo: what a node id is bound to. */
  readonly keyHash: string
}

/** Parses a request, checks that it is an ECDSA P-256 key signed by itself; throws SchedulerCsrError. */
export async function readCsr(der: Uint8Array): Promise<CheckedRequest> {
  if (der.length === 0 || der.length > MAX_CSR_BYTES)
    throw new SchedulerCsrError(`expected 1 to ${MAX_CSR_BYTES} bytes, got ${der.length}`)
  let csr: Pkcs10CertificateRequest
  try {
    csr = new Pkcs10CertificateRequest(der)
  } catch (err) {
    throw new SchedulerCsrError('not a DER PKCS#10 request', { cause: err })
  }
  const algorithm = csr.publicKey.algorithm as { name?: string; namedCurve?: string }
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256')
    throw new SchedulerCsrError(
      `expected an ECDSA P-256 key, got ${algorithm.name ?? 'unknown'} ${algorithm.namedCurve ?? ''}`.trim(),
    )
  let signed: boolean
  try {
    signed = await csr.verify(globalThis.crypto)
  } catch (err) {
    throw new SchedulerCsrError('its signature cannot be checked', { cause: err })
  }
  if (!signed) throw new SchedulerCsrError('its signature does not match its key')
  return { publicKey: csr.publicKey, keyHash: keyHashOf(new Uint8Array(csr.publicKey.rawData)) }
}
