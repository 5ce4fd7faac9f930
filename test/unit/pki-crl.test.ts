import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import {
  isRevoked,
  loadRevocationList,
  revocationWarnings,
  revokeSerials,
  serialKey,
} from '../../src/pki/crl.ts'
import { createTestPki, type TestPki } from '../helpers/certs.ts'

const dir = mkdtempSync(join(tmpdir(), 'dynproxy-crl-'))
let pki: TestPki
let other: TestPki
const certOf = (id: string) => new X509Certificate((pki.nodes[id] as { certPem: string }).certPem)

before(async () => {
  pki = await createTestPki(['a', 'b', 'c'])
  other = await createTestPki(['x'], 'another CA')
})
after(() => rmSync(dir, { recursive: true, force: true }))

function write(name: string, text: string): string {
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

test('serial numbers compare without leading zeros or case', () => {
  assert.equal(serialKey('00ab12'), 'AB12')
  assert.equal(serialKey('AB12'), 'AB12')
  assert.equal(serialKey('0'), '0')
})

test('a revoked certificate is in the list the CA signed; others are not', async () => {
  const made = await revokeSerials({ ca: pki.ca, serials: [certOf('a').serialNumber], validDays: 7 })
  assert.deepEqual(made.added, [serialKey(certOf('a').serialNumber)])
  assert.equal(made.total, 1)
  const list = await loadRevocationList(write('one.pem', made.pem), pki.ca.certPem)
  assert.equal(isRevoked(list, certOf('a')), true)
  assert.equal(isRevoked(list, certOf('b')), false)
  assert.deepEqual(revocationWarnings(list, Date.now()), [])
})

test('extending a list keeps its entries, adds each serial once, and renews its next update', async () => {
  const first = await revokeSerials({ ca: pki.ca, serials: [certOf('a').serialNumber], validDays: 1 })
  const second = await revokeSerials({
    ca: pki.ca,
    previous: first.pem,
    serials: [certOf('b').serialNumber, certOf('a').serialNumber, certOf('b').serialNumber],
    validDays: 30,
  })
  assert.deepEqual(second.added, [serialKey(certOf('b').serialNumber)])
  assert.equal(second.total, 2)
  assert.ok(second.nextUpdate.getTime() > first.nextUpdate.getTime())
  const list = await loadRevocationList(write('two.pem', second.pem), pki.ca.certPem)
  assert.deepEqual(
    [isRevoked(list, certOf('a')), isRevoked(list, certOf('b')), isRevoked(list, certOf('c'))],
    [true, true, false],
  )
})

test('a list past its next update is still applied, with a warning naming the file', async () => {
  const made = await revokeSerials({ ca: pki.ca, serials: [certOf('c').serialNumber], validDays: 1 })
  const file = write('stale.pem', made.pem)
  const list = await loadRevocationList(file, pki.ca.certPem)
  const [warning] = revocationWarnings(list, Date.now() + 2 * 86_400_000)
  assert.match(warning ?? '', /mesh\.tls\.crl file .*stale\.pem was due for renewal/)
  assert.equal(isRevoked(list, certOf('c')), true)
})

test('a list another CA signed, a file that is no list and a missing file are refused with the key and file', async () => {
  const foreign = await revokeSerials({ ca: other.ca, serials: ['01'], validDays: 1 })
  await assert.rejects(loadRevocationList(write('foreign.pem', foreign.pem), pki.ca.certPem), {
    code: 'DYN_ERR_PKI_INVALID',
    message: /mesh\.tls\.crl file .*foreign\.pem: not signed by the mesh CA/,
  })
  const sameName = await createTestPki([])
  const forged = await revokeSerials({ ca: sameName.ca, serials: ['01'], validDays: 1 })
  await assert.rejects(loadRevocationList(write('forged.pem', forged.pem), pki.ca.certPem), {
    code: 'DYN_ERR_PKI_INVALID',
    message: /forged\.pem: not signed by the mesh CA/,
  })
  await assert.rejects(loadRevocationList(write('junk.pem', 'not a crl'), pki.ca.certPem), {
    code: 'DYN_ERR_PKI_INVALID',
    message: /junk\.pem: not a certificate revocation list/,
  })
  await assert.rejects(loadRevocationList(join(dir, 'missing.pem'), pki.ca.certPem), {
    code: 'DYN_ERR_PKI_READ',
    message: /mesh\.tls\.crl file .*missing\.pem: ENOENT/,
  })
  await assert.rejects(revokeSerials({ ca: pki.ca, previous: foreign.pem, serials: [], validDays: 1 }), {
    message: /the CRL to extend: not signed by the mesh CA/,
  })
})

test('a serial whose top bit is set is listed as the same positive number', async () => {
  const made = await revokeSerials({ ca: pki.ca, serials: ['8F01'], validDays: 1 })
  const list = await loadRevocationList(write('top-bit.pem', made.pem), pki.ca.certPem)
  assert.deepEqual([...list.serials], ['8F01'])
})
