/**
 * Certificate creation for a development mesh PKI: one self-signed CA and, per node, one
 * certificate whose identity is the node id. ECDSA P-256 with SHA-256 throughout: small keys,
 * fast handshakes, accepted by every TLS stack Node links against.
 */
import 'reflect-metadata'
import {
  createPrivateKey,
  type KeyObject,
  X509Certificate as NodeX509Certificate,
  randomBytes,
  type webcrypto,
} from 'node:crypto'
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  PemConverter,
  type PublicKey,
  SubjectAlternativeNameExtension,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509'
import { PkiInvalidError } from '../errors/pki.ts'
import { type Clock, systemClock } from '../util/clock.ts'
import { assertCaName, assertNodeId, assertValidDays, sanEntryOf } from './names.ts'
import { SCHEDULER_IDENTITY_URI } from './scheduler-identity.ts'
import { CLOCK_SKEW_MS } from './validity.ts'

export interface PemPair {
  readonly certPem: string
  readonly keyPem: string
}

export interface CreateCaOptions {
  readonly name: string
  readonly validDays: number
  readonly clock?: Clock
}

export interface IssueNodeCertOptions {
  readonly ca: PemPair
  readonly nodeId: string
  readonly validDays: number
  /** Extra SAN entries: IP addresses become IP SANs, anything else a DNS SAN. */
  readonly hosts?: readonly string[]
  readonly clock?: Clock
}

export const ALGORITHM: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' }
export const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' }
const DAY_MS = 86_400_000

function subtleCrypto(): Crypto {
  return globalThis.crypto
}

function validity(clock: Clock, validDays: number): { notBefore: Date; notAfter: Date } {
  const now = clock.now()
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + validDays * DAY_MS) }
}

/** 16 random bytes with the top bit clear and the next set: a positive, minimally encoded INTEGER. */
function serialNumber(): string {
  const bytes = randomBytes(16)
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40
  return bytes.toString('hex')
}

export async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return subtleCrypto().subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])
}

export async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = await subtleCrypto().subtle.exportKey('pkcs8', key)
  return withNewline(PemConverter.encode(pkcs8, 'PRIVATE KEY'))
}

/** PEM files end with a newline so that they concatenate into bundles and print cleanly. */
function withNewline(pem: string): string {
  return pem.endsWith('\n') ? pem : `${pem}\n`
}

export async function createCa(options: CreateCaOptions): Promise<PemPair> {
  assertCaName(options.name)
  assertValidDays(options.validDays)
  const crypto = subtleCrypto()
  const keys = await generateKeys()
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: [{ CN: [options.name] }],
      keys,
      signingAlgorithm: SIGNING,
      ...validity(options.clock ?? systemClock, options.validDays),
      extensions: [
        // pathLength 0: this CA signs node certificates only, never another CA.
        new BasicConstraintsExtension(true, 0, true),
        new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
        await SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  )
  return { certPem: withNewline(cert.toString('pem')), keyPem: await privateKeyPem(keys.privateKey) }
}

export interface CaPemNames {
  readonly cert: string
  readonly key: string
}

const CA_HINT = 'use the ca.pem and ca-key.pem written by dynproxy cert ca'

function parseCaCert(pem: string, name: string): NodeX509Certificate {
  try {
    return new NodeX509Certificate(pem)
  } catch (err) {
    throw new PkiInvalidError(name, 'not a PEM certificate', CA_HINT, { cause: err })
  }
}

function parsePrivateKey(pem: string, name: string): KeyObject {
  try {
    return createPrivateKey(pem)
  } catch (err) {
    throw new PkiInvalidError(name, 'not a PEM private key', CA_HINT, { cause: err })
  }
}

/**
 * Checks that a CA pair can sign node certificates now: an unexpired CA certificate and its own
 * ECDSA P-256 key. `names` say where each came from, for the error.
 */
export function checkCaPair(
  ca: PemPair,
  names: CaPemNames = { cert: 'CA certificate', key: 'CA key' },
  clock: Clock = systemClock,
): KeyObject {
  const cert = parseCaCert(ca.certPem, names.cert)
  if (!cert.ca)
    throw new PkiInvalidError(names.cert, 'not a CA certificate (basic constraints CA:false)', CA_HINT)
  if (cert.validToDate.getTime() <= clock.now()) {
    throw new PkiInvalidError(
      names.cert,
      `expired on ${cert.validToDate.toISOString()}`,
      'create a new CA with dynproxy cert ca (see "Renew and rotate" in docs/mtls.md)',
    )
  }
  const key = parsePrivateKey(ca.keyPem, names.key)
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new PkiInvalidError(names.key, 'not an ECDSA P-256 key', CA_HINT)
  }
  if (!cert.checkPrivateKey(key)) {
    throw new PkiInvalidError(names.key, `the key does not belong to the ${names.cert}`, CA_HINT)
  }
  return key
}

export async function issueNodeCert(options: IssueNodeCertOptions): Promise<PemPair> {
  assertNodeId('nodeId', options.nodeId)
  assertValidDays(options.validDays)
  const keys = await generateKeys()
  const certPem = await signLeaf(options.ca, options.clock ?? systemClock, {
    commonName: options.nodeId,
    // The node id first: nodeIdentityOf() reads the first DNS entry.
    names: [
      { type: 'dns', value: options.nodeId },
      ...(options.hosts ?? []).map(sanEntryOf).filter((e) => e.value !== options.nodeId),
    ],
    // Both purposes: the same certificate serves a node when it dials and when it accepts.
    usages: [ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth],
    publicKey: keys.publicKey,
    validMs: options.validDays * DAY_MS,
  })
  return { certPem, keyPem: await privateKeyPem(keys.privateKey) }
}

export interface IssueForKeyOptions {
  readonly ca: PemPair
  readonly nodeId: string
  /** The node's own key, from its certificate request: its private half never leaves the node. */
  readonly publicKey: PublicKey
  readonly validMs: number
  readonly clock?: Clock
}

/** A node certificate, as `issueNodeCert` makes it, for a key the node keeps: what a join returns. */
export async function issueNodeCertForKey(options: IssueForKeyOptions): Promise<string> {
  assertNodeId('nodeId', options.nodeId)
  return signLeaf(options.ca, options.clock ?? systemClock, {
    commonName: options.nodeId,
    names: [{ type: 'dns', value: options.nodeId }],
    usages: [ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth],
    publicKey: options.publicKey,
    validMs: options.validMs,
  })
}

export interface IssueSchedulerCertOptions {
  readonly ca: PemPair
  readonly schedulerId: string
  readonly validMs: number
  readonly clock?: Clock
}

/**
 * The certificate a scheduler serves its gRPC port with. Its identity is the URI
 * SCHEDULER_IDENTITY_URI, which no node certificate carries; its common name has a space, so it
 * is no node id either: a scheduler's certificate cannot pass for a node's, nor a node's for a
 * scheduler's. Server authentication only.
 */
export async function issueSchedulerCert(options: IssueSchedulerCertOptions): Promise<PemPair> {
  const keys = await generateKeys()
  const certPem = await signLeaf(options.ca, options.clock ?? systemClock, {
    commonName: `dynproxy scheduler ${options.schedulerId}`,
    names: [{ type: 'url', value: SCHEDULER_IDENTITY_URI }],
    usages: [ExtendedKeyUsage.serverAuth],
    publicKey: keys.publicKey,
    validMs: options.validMs,
  })
  return { certPem, keyPem: await privateKeyPem(keys.privateKey) }
}

interface LeafSpec {
  readonly commonName: string
  readonly names: readonly { readonly type: 'dns' | 'ip' | 'url'; readonly value: string }[]
  readonly usages: readonly ExtendedKeyUsage[]
  readonly publicKey: webcrypto.CryptoKey | PublicKey
  readonly validMs: number
}

async function signLeaf(ca: PemPair, clock: Clock, spec: LeafSpec): Promise<string> {
  const crypto = subtleCrypto()
  const caKey = checkCaPair(ca, undefined, clock).toCryptoKey(ALGORITHM, false, ['sign'])
  const caCert = new X509Certificate(ca.certPem)
  const now = clock.now()
  const cert = await X509CertificateGenerator.create(
    {
      serialNumber: serialNumber(),
      subject: [{ CN: [spec.commonName] }],
      issuer: caCert.subjectName,
      publicKey: spec.publicKey,
      signingKey: caKey,
      signingAlgorithm: SIGNING,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      // Verifiers reject a certificate once its CA expires: claiming more would mislead.
      notAfter: new Date(Math.min(now + spec.validMs, caCert.notAfter.getTime())),
      extensions: [
        new BasicConstraintsExtension(false, undefined, true),
        new KeyUsagesExtension(KeyUsageFlags.digitalSignature, true),
        new ExtendedKeyUsageExtension([...spec.usages]),
        new SubjectAlternativeNameExtension([...spec.names]),
        await SubjectKeyIdentifierExtension.create(spec.publicKey, false, crypto),
        await AuthorityKeyIdentifierExtension.create(caCert.publicKey, false, crypto),
      ],
    },
    crypto,
  )
  return withNewline(cert.toString('pem'))
}
