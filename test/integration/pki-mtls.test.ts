import 'reflect-metadata'
import assert from 'node:assert/strict'
import { createPrivateKey, type webcrypto } from 'node:crypto'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { before, describe, it } from 'node:test'
import tls from 'node:tls'
import {
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  PemConverter,
  SubjectAlternativeNameExtension,
  X509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509'
import { PkiPeerIdentityError } from '../../src/errors/pki.ts'
import { nodeIdentityOf } from '../../src/pki/identity.ts'
import { type MeshTlsKeys, meshClientTlsOptions, meshServerTlsOptions } from '../../src/pki/tls-options.ts'
import { createTestPki, type TestPki } from '../helpers/certs.ts'

const STEP_TIMEOUT_MS = 5_000

interface Outcome {
  /** What the client read before the connection ended, or why it failed. */
  readonly client: { readonly data: string } | { readonly error: Error }
  /** The node id the server saw on each connection it accepted. */
  readonly serverPeers: (string | undefined)[]
  readonly serverErrors: Error[]
}

/** One mesh connection on loopback: the server greets every peer it accepts and closes. */
async function connect(serverKeys: MeshTlsKeys, client: tls.ConnectionOptions): Promise<Outcome> {
  const serverPeers: (string | undefined)[] = []
  const serverErrors: Error[] = []
  const server = tls.createServer(meshServerTlsOptions(serverKeys), (socket) => {
    serverPeers.push(nodeIdentityOf(socket.getPeerCertificate()))
    socket.on('error', () => socket.destroy())
    socket.end('hello')
  })
  server.on('tlsClientError', (err) => serverErrors.push(err))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  try {
    const { port } = server.address() as AddressInfo
    const socket = tls.connect({ ...client, host: '127.0.0.1', port })
    const result = await new Promise<Outcome['client']>((resolve) => {
      let data = ''
      const timer = setTimeout(() => socket.destroy(new Error('test timed out')), STEP_TIMEOUT_MS)
      socket.setEncoding('utf8')
      socket.on('data', (chunk: string) => {
        data += chunk
      })
      socket.on('error', (error: Error) => {
        clearTimeout(timer)
        resolve({ error })
      })
      socket.on('end', () => {
        clearTimeout(timer)
        socket.end()
        resolve({ data })
      })
    })
    socket.destroy()
    return { client: result, serverPeers, serverErrors }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/**
 * The server refused the client: it never served it and the client read nothing. Node's server
 * drops a client whose certificate fails verification without telling why, so `reason` is given
 * only where OpenSSL itself fails the handshake.
 */
function assertRefusedByServer(outcome: Outcome, reason = /./): void {
  assert.deepEqual(outcome.serverPeers, [])
  assert.equal(outcome.serverErrors.length, 1)
  assert.match(String(outcome.serverErrors[0]), reason)
  assert.ok(
    'error' in outcome.client || outcome.client.data === '',
    `the client read ${JSON.stringify(outcome.client)}`,
  )
}

function clientError(outcome: Outcome): Error {
  assert.ok('error' in outcome.client, `the client read ${JSON.stringify(outcome.client)}`)
  return outcome.client.error
}

const EC: webcrypto.EcKeyImportParams = { name: 'ECDSA', namedCurve: 'P-256' }

/** A certificate from the mesh CA for `nodeId` that is good for one purpose only. */
async function singlePurposeKeys(
  pki: TestPki,
  nodeId: string,
  usage: ExtendedKeyUsage,
): Promise<MeshTlsKeys> {
  const keys = await crypto.subtle.generateKey(EC, true, ['sign', 'verify'])
  const cert = await X509CertificateGenerator.create({
    subject: [{ CN: [nodeId] }],
    issuer: new X509Certificate(pki.ca.certPem).subjectName,
    publicKey: keys.publicKey,
    signingKey: createPrivateKey(pki.ca.keyPem).toCryptoKey(EC, false, ['sign']),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new ExtendedKeyUsageExtension([usage]),
      new SubjectAlternativeNameExtension([{ type: 'dns', value: nodeId }]),
    ],
  })
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey)
  return { key: PemConverter.encode(pkcs8, 'PRIVATE KEY'), cert: cert.toString('pem'), ca: pki.ca.certPem }
}

describe('mesh mTLS on loopback', () => {
  let pki: TestPki
  let foreign: TestPki

  before(async () => {
    pki = await createTestPki(['node-a', 'node-b', 'node-c'])
    foreign = await createTestPki(['node-a', 'node-b'], 'another CA')
  })

  it('connects a node to the peer it dialed, and the server learns who dialed', async () => {
    const outcome = await connect(pki.keysOf('node-b'), meshClientTlsOptions(pki.keysOf('node-a'), 'node-b'))
    assert.deepEqual(outcome.client, { data: 'hello' })
    assert.deepEqual(outcome.serverPeers, ['node-a'])
    assert.deepEqual(outcome.serverErrors, [])
  })

  it('rejects a server whose certificate names another node', async () => {
    const outcome = await connect(pki.keysOf('node-c'), meshClientTlsOptions(pki.keysOf('node-a'), 'node-b'))
    const err = clientError(outcome)
    assert.ok(err instanceof PkiPeerIdentityError, `unexpected ${String(err)}`)
    assert.equal(err.actual, 'node-c')
    assert.equal(err.expected, 'node-b')
  })

  it('rejects a server with a certificate from another CA', async () => {
    const outcome = await connect(
      foreign.keysOf('node-b'),
      meshClientTlsOptions(pki.keysOf('node-a'), 'node-b'),
    )
    const err = clientError(outcome) as NodeJS.ErrnoException
    assert.match(String(err.code), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN/)
  })

  it('rejects a client with a certificate from another CA', async () => {
    const client = meshClientTlsOptions({ ...foreign.keysOf('node-a'), ca: pki.ca.certPem }, 'node-b')
    const outcome = await connect(pki.keysOf('node-b'), client)
    assertRefusedByServer(outcome)
  })

  it('rejects a client without a certificate', async () => {
    const { key: _key, cert: _cert, ...client } = meshClientTlsOptions(pki.keysOf('node-a'), 'node-b')
    const outcome = await connect(pki.keysOf('node-b'), client)
    assertRefusedByServer(outcome, /peer did not return a certificate|PEER_DID_NOT_RETURN_A_CERTIFICATE/i)
  })

  it('refuses TLS versions below 1.3', async () => {
    const client = {
      ...meshClientTlsOptions(pki.keysOf('node-a'), 'node-b'),
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
    } as const
    const outcome = await connect(pki.keysOf('node-b'), client)
    assert.match(clientError(outcome).message, /protocol version|unsupported protocol|PROTOCOL_VERSION/i)
    assert.deepEqual(outcome.serverPeers, [])
  })

  it('rejects a client certificate not meant for TLS clients', async () => {
    const serverOnly = await singlePurposeKeys(pki, 'node-a', ExtendedKeyUsage.serverAuth)
    const outcome = await connect(pki.keysOf('node-b'), meshClientTlsOptions(serverOnly, 'node-b'))
    assertRefusedByServer(outcome)
  })

  it('rejects a server certificate not meant for TLS servers', async () => {
    const clientOnly = await singlePurposeKeys(pki, 'node-b', ExtendedKeyUsage.clientAuth)
    const outcome = await connect(clientOnly, meshClientTlsOptions(pki.keysOf('node-a'), 'node-b'))
    assert.equal((clientError(outcome) as NodeJS.ErrnoException).code, 'INVALID_PURPOSE')
  })
})
