import 'reflect-metadata'
import assert from 'node:assert/strict'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { before, describe, it } from 'node:test'
import {
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate as ParsedCertificate,
} from '@peculiar/x509'
import { PkiArgumentError, PkiInvalidError } from '../../src/errors/pki.ts'
import { checkCaPair, createCa, issueNodeCert, type PemPair } from '../../src/pki/issue.ts'
import type { Clock } from '../../src/util/clock.ts'

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1'
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'
const DAY_MS = 86_400_000
const fixedClock = (iso: string): Clock => ({ now: () => Date.parse(iso) })

describe('createCa', () => {
  let ca: PemPair
  before(async () => {
    ca = await createCa({ name: 'mesh CA, dev', validDays: 30, clock: fixedClock('2030-01-01T00:00:00Z') })
  })

  it('is a self-signed CA certificate with its matching P-256 key', () => {
    const cert = new X509Certificate(ca.certPem)
    assert.equal(cert.ca, true)
    assert.equal(cert.subject, 'CN=mesh CA\\, dev')
    assert.equal(cert.issuer, cert.subject)
    assert.ok(cert.checkIssued(cert))
    assert.ok(cert.verify(cert.publicKey))
    const key = createPrivateKey(ca.keyPem)
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1')
    assert.ok(cert.checkPrivateKey(key))
    assert.match(ca.keyPem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+-----END PRIVATE KEY-----\n$/)
    assert.match(ca.certPem, /-----END CERTIFICATE-----\n$/)
  })

  it('may sign certificates and CRLs, and no other CA below it', () => {
    const parsed = new ParsedCertificate(ca.certPem)
    const usage = parsed.getExtension(KeyUsagesExtension)
    assert.equal(usage?.usages, KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)
    assert.equal(usage?.critical, true)
    const constraints = parsed.getExtension(BasicConstraintsExtension)
    assert.equal(constraints?.ca, true)
    assert.equal(constraints?.pathLength, 0)
    assert.equal(constraints?.critical, true)
  })

  it('is valid for the days asked, backdated a little for clock skew', () => {
    const cert = new X509Certificate(ca.certPem)
    const now = Date.parse('2030-01-01T00:00:00Z')
    assert.ok(cert.validFromDate.getTime() < now)
    assert.ok(cert.validFromDate.getTime() >= now - 10 * 60_000)
    assert.equal(cert.validToDate.getTime(), now + 30 * DAY_MS)
  })

  it('draws a fresh serial number for every CA', async () => {
    const other = await createCa({ name: 'mesh CA, dev', validDays: 30 })
    assert.notEqual(
      new X509Certificate(other.certPem).serialNumber,
      new X509Certificate(ca.certPem).serialNumber,
    )
  })

  it('rejects an empty or overlong name and out-of-range validity', async () => {
    await assert.rejects(createCa({ name: ' ', validDays: 1 }), PkiArgumentError)
    await assert.rejects(createCa({ name: 'x'.repeat(65), validDays: 1 }), /invalid CA name/)
    for (const validDays of [0, -1, 1.5, 36_501, Number.NaN]) {
      await assert.rejects(createCa({ name: 'ca', validDays }), (err: unknown) => {
        assert.ok(err instanceof PkiArgumentError)
        assert.equal(err.code, 'DYN_ERR_PKI_INVALID_ARGUMENT')
        assert.match(err.message, /^invalid validDays .*: expected an integer from 1 to 36500$/)
        return true
      })
    }
  })
})

describe('issueNodeCert', () => {
  let ca: PemPair
  let caCert: X509Certificate
  let node: PemPair
  let cert: X509Certificate
  before(async () => {
    ca = await createCa({ name: 'mesh CA', validDays: 30 })
    caCert = new X509Certificate(ca.certPem)
    node = await issueNodeCert({
      ca,
      nodeId: 'node-1',
      validDays: 7,
      hosts: ['127.0.0.1', 'edge.example', '::1'],
    })
    cert = new X509Certificate(node.certPem)
  })

  it('is issued and signed by the CA', () => {
    assert.ok(cert.checkIssued(caCert))
    assert.ok(cert.verify(caCert.publicKey))
    assert.equal(cert.issuer, caCert.subject)
  })

  it('names the node in CN and as the first DNS SAN, then the extra hosts', () => {
    assert.equal(cert.subject, 'CN=node-1')
    assert.equal(
      cert.subjectAltName,
      'DNS:node-1, IP Address:127.0.0.1, DNS:edge.example, IP Address:0:0:0:0:0:0:0:1',
    )
    assert.equal(cert.checkHost('node-1'), 'node-1')
    assert.equal(cert.checkIP('127.0.0.1'), '127.0.0.1')
  })

  it('serves both ends of a connection and cannot sign certificates', () => {
    assert.deepEqual([...cert.keyUsage].sort(), [SERVER_AUTH, CLIENT_AUTH])
    assert.equal(cert.ca, false)
    const usage = new ParsedCertificate(node.certPem).getExtension(KeyUsagesExtension)
    assert.equal(usage?.usages, KeyUsageFlags.digitalSignature)
    assert.equal(usage?.critical, true)
  })

  it('comes with its own private key', () => {
    const key = createPrivateKey(node.keyPem)
    assert.ok(cert.checkPrivateKey(key))
    assert.equal(caCert.checkPrivateKey(key), false)
  })

  it('is valid for the days asked', async () => {
    const now = Date.parse('2031-06-01T12:00:00Z')
    const clock = fixedClock('2031-06-01T12:00:00Z')
    const datedCa = await createCa({ name: 'ca', validDays: 10, clock })
    const dated = await issueNodeCert({ ca: datedCa, nodeId: 'n', validDays: 3, clock })
    const c = new X509Certificate(dated.certPem)
    assert.equal(c.validToDate.getTime(), now + 3 * DAY_MS)
    assert.ok(c.validFromDate.getTime() <= now)
  })

  it('ends no later than its CA, and is not issued by an expired CA', async () => {
    const c = await issueNodeCert({ ca, nodeId: 'n', validDays: 365 })
    assert.equal(new X509Certificate(c.certPem).validTo, caCert.validTo)
    const later = fixedClock(new Date(caCert.validToDate.getTime() + 1000).toISOString())
    await assert.rejects(
      issueNodeCert({ ca, nodeId: 'n', validDays: 1, clock: later }),
      /^PkiInvalidError: invalid CA certificate: expired on \d{4}-.* \(hint: create a new CA/,
    )
  })

  it('does not repeat the node id when it is also given as a host', async () => {
    const c = await issueNodeCert({ ca, nodeId: 'n2', validDays: 1, hosts: ['n2'] })
    assert.equal(new X509Certificate(c.certPem).subjectAltName, 'DNS:n2')
  })

  it('rejects node ids the config would reject, and hosts that are no name or address', async () => {
    for (const nodeId of ['', '-a', 'a b', 'a/b', 'ü', 'x'.repeat(65)]) {
      await assert.rejects(issueNodeCert({ ca, nodeId, validDays: 1 }), /^PkiArgumentError: invalid nodeId/)
    }
    for (const host of ['', 'a b', 'a..b', '-a.example', '1.2.3.4:80']) {
      await assert.rejects(issueNodeCert({ ca, nodeId: 'n', validDays: 1, hosts: [host] }), /invalid host/)
    }
    await assert.rejects(issueNodeCert({ ca, nodeId: 'n', validDays: 0 }), /invalid validDays 0/)
  })

  it('refuses to sign with a node certificate, a foreign key or garbage', async () => {
    const other = await createCa({ name: 'other', validDays: 1 })
    const cases: [PemPair, RegExp][] = [
      [node, /invalid CA certificate: not a CA certificate/],
      [
        { certPem: ca.certPem, keyPem: other.keyPem },
        /invalid CA key: the key does not belong to the CA certificate/,
      ],
      [{ certPem: 'garbage', keyPem: ca.keyPem }, /invalid CA certificate: not a PEM certificate/],
      [{ certPem: ca.certPem, keyPem: 'garbage' }, /invalid CA key: not a PEM private key/],
    ]
    for (const [pair, message] of cases) {
      await assert.rejects(issueNodeCert({ ca: pair, nodeId: 'n', validDays: 1 }), (err: unknown) => {
        assert.ok(err instanceof PkiInvalidError)
        assert.equal(err.code, 'DYN_ERR_PKI_INVALID')
        assert.match(err.message, message)
        return true
      })
    }
  })

  it('names the files in CA errors when told where the pair came from', () => {
    assert.throws(
      () =>
        checkCaPair(
          { certPem: ca.certPem, keyPem: 'x' },
          { cert: '--ca file c.pem', key: '--ca file k.pem' },
        ),
      /^PkiInvalidError: invalid --ca file k\.pem: not a PEM private key \(hint: /,
    )
  })
})
