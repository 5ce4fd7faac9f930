import 'reflect-metadata'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  PemConverter,
  X509CertificateGenerator,
} from '@peculiar/x509'
import type { MeshTlsConfig } from '../../src/config/types.ts'
import { PkiInvalidError, PkiReadError } from '../../src/errors/pki.ts'
import { loadMeshTls } from '../../src/pki/load.ts'
import { createTestPki, type TestPki, type TestPkiFiles } from '../helpers/certs.ts'

const DAY_MS = 86_400_000

describe('loadMeshTls', () => {
  let dir: string
  let pki: TestPki
  let files: TestPkiFiles
  let good: MeshTlsConfig

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-pki-load-'))
    pki = await createTestPki(['node-a', 'node-b'])
    files = await pki.writeTo(dir)
    good = files.nodes['node-a']!
  })

  after(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  async function file(name: string, content: string): Promise<string> {
    const path = join(dir, name)
    await writeFile(path, content)
    return path
  }

  async function rejectsWith(
    config: MeshTlsConfig,
    type: typeof PkiReadError | typeof PkiInvalidError,
    message: RegExp,
  ) {
    await assert.rejects(loadMeshTls(config), (err: unknown) => {
      assert.ok(err instanceof type, `unexpected ${String(err)}`)
      assert.match(err.message, message)
      return true
    })
  }

  it('returns the PEM material, its identity and expiry, with no warnings', async () => {
    const material = await loadMeshTls(good, { nodeId: 'node-a' })
    assert.equal(material.cert, pki.nodes['node-a']!.certPem)
    assert.equal(material.key, pki.nodes['node-a']!.keyPem)
    assert.equal(material.ca, pki.ca.certPem)
    assert.equal(material.identity, 'node-a')
    assert.ok(material.notAfter.getTime() > Date.now())
    assert.deepEqual(material.warnings, [])
  })

  it('reads what createTestPki wrote, keys private to their owner', async () => {
    assert.equal((await stat(good.keyFile)).mode & 0o777, 0o600)
    assert.equal((await stat(files.caKeyFile)).mode & 0o777, 0o600)
    assert.equal(await readFile(files.caFile, 'utf8'), pki.ca.certPem)
    assert.deepEqual(Object.keys(files.nodes), ['node-a', 'node-b'])
    assert.throws(() => pki.keysOf('node-z'), { code: 'DYN_ERR_PKI_INVALID_ARGUMENT' })
  })

  it('names the config key and the file that is missing', async () => {
    const missing = join(dir, 'nope.pem')
    await rejectsWith(
      { ...good, certFile: missing },
      PkiReadError,
      /^cannot read mesh\.tls\.cert file .*nope\.pem: ENOENT/,
    )
    await rejectsWith(
      { ...good, keyFile: missing },
      PkiReadError,
      /^cannot read mesh\.tls\.key file .*nope\.pem: ENOENT/,
    )
    await rejectsWith(
      { ...good, caFile: missing },
      PkiReadError,
      /^cannot read mesh\.tls\.ca file .*nope\.pem: ENOENT/,
    )
    await assert.rejects(loadMeshTls({ ...good, caFile: missing }), { code: 'DYN_ERR_PKI_READ' })
  })

  it('rejects files that hold no usable PEM, naming key and file', async () => {
    const garbage = await file('garbage.pem', 'not a pem at all\n')
    const broken = await file('broken.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
    await rejectsWith(
      { ...good, certFile: garbage },
      PkiInvalidError,
      /^invalid mesh\.tls\.cert file .*garbage\.pem: no PEM certificate/,
    )
    await rejectsWith(
      { ...good, certFile: broken },
      PkiInvalidError,
      /^invalid mesh\.tls\.cert file .*broken\.pem: no PEM certificate/,
    )
    await rejectsWith(
      { ...good, keyFile: garbage },
      PkiInvalidError,
      /^invalid mesh\.tls\.key file .*garbage\.pem: not a PEM private key/,
    )
    await rejectsWith(
      { ...good, caFile: garbage },
      PkiInvalidError,
      /^invalid mesh\.tls\.ca file .*garbage\.pem: no PEM certificate/,
    )
    // A key where the certificate belongs is a common slip.
    await rejectsWith({ ...good, certFile: good.keyFile }, PkiInvalidError, /^invalid mesh\.tls\.cert file/)
    await assert.rejects(loadMeshTls({ ...good, keyFile: garbage }), { code: 'DYN_ERR_PKI_INVALID' })
  })

  it('rejects a key that belongs to another certificate', async () => {
    await rejectsWith(
      { ...good, keyFile: files.nodes['node-b']!.keyFile },
      PkiInvalidError,
      /^invalid mesh\.tls\.key file .*node-b-key\.pem: the key does not belong to the certificate in mesh\.tls\.cert file .*node-a\.pem/,
    )
  })

  it('warns, without failing, about an expired or not yet valid certificate', async () => {
    const material = await loadMeshTls(good, { clock: { now: () => Date.now() + 30 * DAY_MS } })
    assert.equal(material.warnings.length, 1)
    assert.match(
      material.warnings[0]!,
      /^mesh\.tls\.cert .*node-a\.pem expired on \d{4}-.*: peers will reject this node/,
    )
    const early = await loadMeshTls(good, { clock: { now: () => Date.now() - 30 * DAY_MS } })
    assert.match(early.warnings.join('\n'), /is not valid before .* \(hint: check this machine's clock\)/)
  })

  it('warns about a certificate for another node id or from another CA', async () => {
    const wrongId = await loadMeshTls(good, { nodeId: 'node-b' })
    assert.match(wrongId.warnings.join('\n'), /identifies node "node-a", not this node "node-b"/)
    const other = await createTestPki([], 'another CA')
    const otherCa = await file('other-ca.pem', other.ca.certPem)
    const foreign = await loadMeshTls({ ...good, caFile: otherCa })
    assert.match(
      foreign.warnings.join('\n'),
      /is not signed by a certificate in mesh\.tls\.ca .*other-ca\.pem/,
    )
    const bundle = await file('bundle.pem', other.ca.certPem + pki.ca.certPem)
    assert.deepEqual((await loadMeshTls({ ...good, caFile: bundle })).warnings, [])
  })

  it('warns about a certificate that cannot serve as both client and server', async () => {
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])
    const serverOnly = await X509CertificateGenerator.createSelfSigned({
      name: [{ CN: ['server-only'] }],
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth])],
    })
    const certFile = await file('server-only.pem', serverOnly.toString('pem'))
    const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey)
    const keyFile = await file('server-only-key.pem', PemConverter.encode(pkcs8, 'PRIVATE KEY'))
    const material = await loadMeshTls({ certFile, keyFile, caFile: certFile })
    assert.equal(material.identity, 'server-only')
    assert.deepEqual(material.warnings, [
      `mesh.tls.cert ${certFile} is not valid for both TLS server and client authentication: mesh connections in one direction will fail (hint: create one with dynproxy cert node (see docs/mtls.md))`,
    ])
  })
})
