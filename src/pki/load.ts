/**
 * Reading the mesh's TLS material (`mesh.tls`) at start-up: every failure names the config key and
 * the file, and problems that do not stop this node from starting, but will make peers reject it,
 * come back as warnings for the caller to log at warn level.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { PkiInvalidError, PkiReadError } from '../errors/pki.ts'
import { type Clock, systemClock } from '../util/clock.ts'
import { nodeIdentityOf } from './identity.ts'

/** Where a node's mesh TLS material is: `mesh.tls` of the config. */
export interface MeshTlsFiles {
  readonly certFile: string
  readonly keyFile: string
  readonly caFile: string
}

export interface MeshTlsMaterial {
  /** PEM strings, as `tls.createServer`/`tls.connect` take them. */
  readonly key: string
  readonly cert: string
  readonly ca: string
  /** The node id this node's certificate stands for (see `nodeIdentityOf`). */
  readonly identity: string | undefined
  readonly notAfter: Date
  /** Human-readable problems worth a warn-level log line; empty when all is well. */
  readonly warnings: readonly string[]
}

export interface LoadMeshTlsOptions {
  /** This node's id: a certificate for another identity earns a warning. */
  readonly nodeId?: string
  readonly clock?: Clock
}

const KEYS = { cert: 'mesh.tls.cert', key: 'mesh.tls.key', ca: 'mesh.tls.ca' } as const
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1'
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'
const ISSUE_HINT = 'create one with dynproxy cert node (see docs/mtls.md)'

async function readPem(source: string, file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? String(err)
    throw new PkiReadError(source, file, errno, 'check the path in the config', { cause: err })
  }
}

/** Every certificate of a PEM bundle; `undefined` when one of its blocks does not parse. */
function parseCerts(pem: string): X509Certificate[] | undefined {
  const blocks = pem.match(PEM_CERT) ?? []
  try {
    return blocks.map((block) => new X509Certificate(block))
  } catch {
    return undefined
  }
}

function parseCert(pem: string, file: string): X509Certificate {
  const first = parseCerts(pem)?.[0]
  if (!first) throw new PkiInvalidError(`${KEYS.cert} file ${file}`, 'no PEM certificate in it', ISSUE_HINT)
  return first
}

function parseCa(pem: string, file: string): X509Certificate[] {
  const certs = parseCerts(pem)
  if (!certs || certs.length === 0) {
    throw new PkiInvalidError(
      `${KEYS.ca} file ${file}`,
      'no PEM certificate in it',
      'point it at the ca.pem of the mesh CA',
    )
  }
  return certs
}

function parseKey(pem: string, file: string): KeyObject {
  try {
    return createPrivateKey(pem)
  } catch (err) {
    throw new PkiInvalidError(`${KEYS.key} file ${file}`, 'not a PEM private key', ISSUE_HINT, { cause: err })
  }
}

function validityWarnings(cert: X509Certificate, file: string, now: number): string[] {
  if (cert.validToDate.getTime() < now) {
    return [
      `${KEYS.cert} ${file} expired on ${cert.validToDate.toISOString()}: peers will reject this node (hint: issue a new one with dynproxy cert node)`,
    ]
  }
  if (cert.validFromDate.getTime() > now) {
    return [
      `${KEYS.cert} ${file} is not valid before ${cert.validFromDate.toISOString()}: peers will reject this node until then (hint: check this machine's clock)`,
    ]
  }
  return []
}

function usageWarnings(cert: X509Certificate, file: string): string[] {
  const usages = cert.keyUsage
  // No extended key usage extension means any purpose is allowed.
  if (!usages || (usages.includes(SERVER_AUTH) && usages.includes(CLIENT_AUTH))) return []
  return [
    `${KEYS.cert} ${file} is not valid for both TLS server and client authentication: mesh connections in one direction will fail (hint: ${ISSUE_HINT})`,
  ]
}

function issuerWarnings(
  cert: X509Certificate,
  cas: X509Certificate[],
  file: string,
  caFile: string,
): string[] {
  if (cas.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) return []
  return [
    `${KEYS.cert} ${file} is not signed by a certificate in ${KEYS.ca} ${caFile}: peers that trust that CA will reject this node`,
  ]
}

function identityWarnings(identity: string | undefined, nodeId: string | undefined, file: string): string[] {
  if (nodeId === undefined || identity === nodeId) return []
  return [
    `${KEYS.cert} ${file} identifies node ${JSON.stringify(identity ?? null)}, not this node ${JSON.stringify(nodeId)}: peers that dial ${JSON.stringify(nodeId)} will reject it (hint: dynproxy cert node --id ${nodeId})`,
  ]
}

export async function loadMeshTls(
  files: MeshTlsFiles,
  options: LoadMeshTlsOptions = {},
): Promise<MeshTlsMaterial> {
  const [certPem, keyPem, caPem] = await Promise.all([
    readPem(KEYS.cert, files.certFile),
    readPem(KEYS.key, files.keyFile),
    readPem(KEYS.ca, files.caFile),
  ])
  const cert = parseCert(certPem, files.certFile)
  const key = parseKey(keyPem, files.keyFile)
  const cas = parseCa(caPem, files.caFile)
  if (key.asymmetricKeyType !== cert.publicKey.asymmetricKeyType || !cert.checkPrivateKey(key)) {
    throw new PkiInvalidError(
      `${KEYS.key} file ${files.keyFile}`,
      `the key does not belong to the certificate in ${KEYS.cert} file ${files.certFile}`,
      'use the -key.pem written together with that certificate',
    )
  }
  const identity = nodeIdentityOf(cert)
  const now = (options.clock ?? systemClock).now()
  return {
    key: keyPem,
    cert: certPem,
    ca: caPem,
    identity,
    notAfter: cert.validToDate,
    warnings: [
      ...validityWarnings(cert, files.certFile, now),
      ...usageWarnings(cert, files.certFile),
      ...issuerWarnings(cert, cas, files.certFile, files.caFile),
      ...identityWarnings(identity, options.nodeId, files.certFile),
    ],
  }
}
