import 'reflect-metadata'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { before, describe, it } from 'node:test'
import { Pkcs10CertificateRequestGenerator } from '@peculiar/x509'
import { csrForKey, newNodeKey, readCsr } from '../../src/pki/csr.ts'
import { certKeyHashOf, pemFingerprintOf } from '../../src/pki/fingerprint.ts'
import { nodeIdentityOf } from '../../src/pki/identity.ts'
import {
  createCa,
  issueNodeCert,
  issueNodeCertForKey,
  issueSchedulerCert,
  type PemPair,
} from '../../src/pki/issue.ts'
import { formatJoinToken, newJoinSecret, readJoinToken } from '../../src/pki/join-token.ts'
import { isSchedulerCertificate } from '../../src/pki/scheduler-identity.ts'

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1'
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'

describe('joining: a node key, its request and the certificate issued for it', () => {
  let ca: PemPair
  before(async () => {
    ca = await createCa({ name: 'join test CA', validDays: 2 })
  })

  it('issues a node certificate for the key of the request, bound to that key by its hash', async () => {
    const key = await newNodeKey('na')
    const request = await readCsr(key.csr)
    const certPem = await issueNodeCertForKey({
      ca,
      nodeId: 'na',
      publicKey: request.publicKey,
      validMs: 60_000,
    })
    const cert = new X509Certificate(certPem)
    assert.equal(nodeIdentityOf(cert), 'na')
    assert.ok(cert.checkIssued(new X509Certificate(ca.certPem)))
    assert.ok(cert.verify(new X509Certificate(ca.certPem).publicKey))
    assert.deepEqual([...(cert.keyUsage ?? [])].sort(), [SERVER_AUTH, CLIENT_AUTH].sort())
    assert.equal(certKeyHashOf(cert.raw), request.keyHash)
    const validFor = cert.validToDate.getTime() - Date.now()
    assert.ok(validFor > 50_000 && validFor <= 60_000, `valid for ${validFor}ms`)
    assert.equal(isSchedulerCertificate(cert.subjectAltName), false)
  })

  it('makes a request for a key the node has, with the same key hash (renewals keep the key)', async () => {
    const key = await newNodeKey('na')
    const again = await readCsr(await csrForKey(key.keyPem, 'na'))
    assert.equal(again.keyHash, (await readCsr(key.csr)).keyHash)
  })

  it('refuses a request that is not DER, too large, tampered with, or of another kind of key', async () => {
    await assert.rejects(readCsr(new Uint8Array([1, 2, 3])), { code: 'DYN_ERR_SCHEDULER_AUTH_CSR' })
    await assert.rejects(readCsr(new Uint8Array(0)), { code: 'DYN_ERR_SCHEDULER_AUTH_CSR' })
    await assert.rejects(readCsr(new Uint8Array(5000)), /expected 1 to 4096 bytes, got 5000/)
    const key = await newNodeKey('na')
    const tampered = Uint8Array.from(key.csr)
    tampered[tampered.length - 5] = (tampered[tampered.length - 5] ?? 0) ^ 0xff
    await assert.rejects(readCsr(tampered), { code: 'DYN_ERR_SCHEDULER_AUTH_CSR' })
    const p384 = await globalThis.crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, [
      'sign',
      'verify',
    ])
    const other = await Pkcs10CertificateRequestGenerator.create(
      { name: 'CN=na', keys: p384, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' } },
      globalThis.crypto,
    )
    await assert.rejects(
      readCsr(new Uint8Array(other.rawData)),
      /expected an ECDSA P-256 key, got ECDSA P-384/,
    )
  })
})

describe('the scheduler certificate', () => {
  it('carries the scheduler URI, stands for no node, and serves only as a server', async () => {
    const ca = await createCa({ name: 'join test CA', validDays: 2 })
    const pair = await issueSchedulerCert({ ca, schedulerId: 's1', validMs: 3_600_000 })
    const cert = new X509Certificate(pair.certPem)
    assert.equal(isSchedulerCertificate(cert.subjectAltName), true)
    assert.equal(nodeIdentityOf(cert), undefined)
    assert.deepEqual(cert.keyUsage, [SERVER_AUTH])
    const node = new X509Certificate((await issueNodeCert({ ca, nodeId: 'n1', validDays: 1 })).certPem)
    assert.equal(isSchedulerCertificate(node.subjectAltName), false)
  })
})

describe('join tokens', () => {
  it('round-trips the CA fingerprint and the secret', async () => {
    const ca = await createCa({ name: 'join test CA', validDays: 2 })
    const token = { caFingerprint: pemFingerprintOf(ca.certPem), secret: newJoinSecret() }
    const text = formatJoinToken(token)
    assert.match(text, /^dpjoin1\.[0-9a-f]{64}\.[A-Za-z0-9_-]{43}$/)
    assert.deepEqual(readJoinToken(` ${text}\n`), { value: token })
  })

  it('says what is wrong with a bad token without quoting it', () => {
    const secret = 'S'.repeat(42)
    const bad = readJoinToken(`dpjoin1.${'a'.repeat(64)}.${secret}`)
    assert.ok('error' in bad)
    assert.match(bad.error, /expected dpjoin1\.<64 hex digits>\.<43 base64url characters>/)
    assert.doesNotMatch(bad.error, new RegExp(secret))
    const other = readJoinToken('K10abc::server:xyz')
    assert.ok('error' in other)
    assert.match(other.error, /starting with "dpjoin1\."/)
  })
})
