import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { describe, it } from 'node:test'
import {
  decodePathToken,
  importPublicKey,
  PATH_TOKEN_MAX_BYTES,
  type PathTokenCheck,
  verifyPathToken,
} from '../../src/mesh/path-token.ts'
import {
  exportPrivateKey,
  exportPublicKey,
  generateSigningKey,
  importPrivateKey,
  signPathToken,
} from '../../src/scheduler/token.ts'
import { seeded } from './paths-fixtures.ts'

const key = generateSigningKey()
const claims = {
  route: 'web',
  nodes: ['ingress', 'relay-1', 'relay-2', 'egress'],
  targets: ['10.0.0.5:443', '[2001:db8::1]:443'],
  expiresAt: 1_700_000_060_000,
}
const token = signPathToken(claims, key.privateKey)
const now = 1_700_000_000_000
const atRelay1: PathTokenCheck = { nodeId: 'relay-1', remainingPath: ['relay-2', 'egress'], now }

describe('path tokens', () => {
  it('round-trips: every node after the ingress accepts its own part of the path', () => {
    assert.ok(token.length <= PATH_TOKEN_MAX_BYTES)
    assert.deepEqual(decodePathToken(token)?.claims, claims)
    assert.equal(verifyPathToken(token, key.publicKey, atRelay1), 'ok')
    assert.equal(verifyPathToken(token, key.publicKey, { ...atRelay1, target: '10.0.0.5:443' }), 'ok')
    assert.equal(verifyPathToken(token, key.publicKey, { ...atRelay1, previousNode: 'ingress' }), 'ok')
    const atEgress = { nodeId: 'egress', remainingPath: [], target: '[2001:db8::1]:443', now }
    assert.equal(verifyPathToken(token, key.publicKey, atEgress), 'ok')
  })

  it('verifies with the exported base64 public key', () => {
    const b64 = exportPublicKey(key.publicKey)
    assert.equal(Buffer.from(b64, 'base64').length, 32)
    assert.equal(verifyPathToken(token, importPublicKey(b64), atRelay1), 'ok')
  })

  it('reports any changed byte as forged or malformed, never ok', () => {
    for (let i = 0; i < token.length; i++) {
      const bad = Buffer.from(token)
      bad[i]! ^= 0x01
      const verdict = verifyPathToken(bad, key.publicKey, atRelay1)
      assert.ok(verdict === 'forged' || verdict === 'malformed', `byte ${i}: ${verdict}`)
    }
    const body = Buffer.from(token)
    body[body.length - 64 - 1]! ^= 0x04 // last target byte: still well-formed
    assert.equal(verifyPathToken(body, key.publicKey, atRelay1), 'forged')
  })

  it('reports a token signed by another key as forged', () => {
    const other = generateSigningKey()
    assert.equal(verifyPathToken(signPathToken(claims, other.privateKey), key.publicKey, atRelay1), 'forged')
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey
    assert.equal(verifyPathToken(token, rsa, atRelay1), 'forged')
  })

  it('reports expiry from expiresAt on', () => {
    assert.equal(verifyPathToken(token, key.publicKey, { ...atRelay1, now: claims.expiresAt - 1 }), 'ok')
    assert.equal(verifyPathToken(token, key.publicKey, { ...atRelay1, now: claims.expiresAt }), 'expired')
  })

  it('reports a request off the signed path as not_on_path', () => {
    const check = (c: Partial<PathTokenCheck>) => verifyPathToken(token, key.publicKey, { ...atRelay1, ...c })
    assert.equal(check({ nodeId: 'intruder' }), 'not_on_path')
    assert.equal(check({ nodeId: 'ingress', remainingPath: ['relay-1', 'relay-2', 'egress'] }), 'not_on_path')
    assert.equal(check({ remainingPath: ['egress'] }), 'not_on_path')
    assert.equal(check({ remainingPath: ['relay-2', 'egress', 'elsewhere'] }), 'not_on_path')
    assert.equal(check({ remainingPath: ['relay-2', 'other'] }), 'not_on_path')
    assert.equal(check({ target: '10.0.0.6:443' }), 'not_on_path')
    assert.equal(check({ previousNode: 'relay-2' }), 'not_on_path')
  })

  it('lets an egress route by its own routes when the token names no target', () => {
    const chain = signPathToken({ ...claims, targets: [] }, key.privateKey)
    assert.equal(verifyPathToken(chain, key.publicKey, atRelay1), 'ok')
    assert.equal(
      verifyPathToken(chain, key.publicKey, { ...atRelay1, target: '10.0.0.5:443' }),
      'not_on_path',
    )
  })

  it('never throws on garbage and never says ok to it', () => {
    const random = seeded(42)
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)))
    for (let i = 0; i < 2000; i++) {
      let input: Buffer
      if (i % 3 === 0) input = bytes(Math.floor(random() * 1100))
      else {
        input = Buffer.from(token)
        const flips = 1 + Math.floor(random() * 4)
        for (let f = 0; f < flips; f++)
          input[Math.floor(random() * input.length)] = Math.floor(random() * 256)
        if (i % 3 === 2) input = input.subarray(0, Math.floor(random() * input.length))
      }
      const verdict = verifyPathToken(input, key.publicKey, atRelay1)
      assert.ok(['forged', 'malformed'].includes(verdict) || input.equals(token), `case ${i}: ${verdict}`)
    }
    assert.equal(verifyPathToken(Buffer.alloc(0), key.publicKey, atRelay1), 'malformed')
    assert.equal(verifyPathToken(Buffer.alloc(2000), key.publicKey, atRelay1), 'malformed')
  })

  it('refuses a token of another version as malformed', () => {
    const v2 = Buffer.from(token)
    v2[0] = 2
    assert.equal(verifyPathToken(v2, key.publicKey, atRelay1), 'malformed')
  })
})

describe('signPathToken', () => {
  it('rejects claims it cannot encode', () => {
    const sign = (c: Partial<typeof claims>) => () => signPathToken({ ...claims, ...c }, key.privateKey)
    assert.throws(sign({ nodes: [] }), { code: 'DYN_ERR_PATHS_TOKEN_CLAIM', message: /nodes has 0 entries/ })
    assert.throws(sign({ nodes: ['a', 'b', 'a'] }), { message: /repeats a node/ })
    assert.throws(sign({ route: '' }), { message: /route "" has 0 bytes/ })
    assert.throws(sign({ nodes: ['a', 'x'.repeat(256)] }), { message: /nodes\[1\]/ })
    assert.throws(sign({ expiresAt: 1.5 }), { message: /expiresAt 1.5/ })
    assert.throws(sign({ expiresAt: -1 }), { code: 'DYN_ERR_PATHS_TOKEN_CLAIM' })
  })

  it('refuses a token that would not fit the mesh header', () => {
    const nodes = Array.from({ length: 20 }, (_, i) => `node-${i}-${'x'.repeat(50)}`)
    assert.throws(() => signPathToken({ ...claims, nodes }, key.privateKey), {
      code: 'DYN_ERR_PATHS_TOKEN_TOO_LARGE',
      message: /max 1024/,
    })
  })

  it('keeps a stored private key usable across a restart', () => {
    const restored = importPrivateKey(exportPrivateKey(key.privateKey))
    assert.equal(exportPublicKey(restored.publicKey), exportPublicKey(key.publicKey))
    assert.equal(verifyPathToken(signPathToken(claims, restored.privateKey), key.publicKey, atRelay1), 'ok')
  })

  it('rejects keys that are not Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
    assert.throws(() => exportPublicKey(rsa.publicKey), { code: 'DYN_ERR_PATHS_TOKEN_KEY' })
    assert.throws(() => signPathToken(claims, rsa.privateKey), { code: 'DYN_ERR_PATHS_TOKEN_KEY' })
    assert.throws(() => exportPrivateKey(rsa.privateKey), { code: 'DYN_ERR_PATHS_TOKEN_KEY' })
    assert.throws(
      () => importPrivateKey(rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()),
      {
        code: 'DYN_ERR_PATHS_TOKEN_KEY',
      },
    )
    assert.throws(() => importPrivateKey('not a pem'), { code: 'DYN_ERR_PATHS_TOKEN_KEY' })
    assert.throws(() => importPublicKey('AAAA'), { code: 'DYN_ERR_PATHS_TOKEN_KEY', message: /"AAAA"/ })
  })
})
