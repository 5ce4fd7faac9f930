import assert from 'node:assert/strict'
import { generateKeyPairSync, sign } from 'node:crypto'
import { describe, it } from 'node:test'
import { PathTokenClaimError } from '../../src/errors/paths.ts'
import {
  decodePathToken,
  importPublicKey,
  PATH_TOKEN_CONTEXT,
  PATH_TOKEN_MAX_BYTES,
  type PathTokenCheck,
  VerifiedTokens,
  verifyPathToken,
} from '../../src/mesh/security/path-token.ts'
import {
  exportPrivateKey,
  exportPublicKey,
  generateSigningKey,
  importPrivateKey,
  signPathToken,
  signPathTokens,
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
    body[(decodePathToken(token)?.bodyLength ?? 0) - 1]! ^= 0x04 // last target byte: still well-formed
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
    const v3 = Buffer.from(token)
    v3[0] = 3
    assert.equal(verifyPathToken(v3, key.publicKey, atRelay1), 'malformed')
  })

  it('still accepts a version 1 token, signed alone, as sets cached before version 2 hold', () => {
    const v1 = versionOne(token)
    assert.equal(v1[0], 1)
    assert.deepEqual(decodePathToken(v1)?.claims, claims)
    assert.equal(verifyPathToken(v1, key.publicKey, atRelay1), 'ok')
    const bad = Buffer.from(v1)
    bad[bad.length - 64 - 1]! ^= 0x04
    assert.equal(verifyPathToken(bad, key.publicKey, atRelay1), 'forged')
  })
})

/** The token as version 1 signed it: the body, then a signature over the context and the body. */
function versionOne(v2: Buffer): Buffer {
  const decoded = decodePathToken(v2)
  assert.ok(decoded)
  const body = Buffer.from(v2.subarray(0, decoded.bodyLength))
  body[0] = 1
  return Buffer.concat([body, sign(null, Buffer.concat([PATH_TOKEN_CONTEXT, body]), key.privateKey)])
}

describe('path tokens signed in a batch', () => {
  const batch = Array.from({ length: 150 }, (_, i) => ({ ...claims, route: `web-${i}` }))
  const tokens = signPathTokens(batch, key.privateKey) as Buffer[]
  const signatureOf = (t: Buffer) => t.subarray(t.length - 64).toString('hex')

  it('gives each claim its own token, one signature per 64 of them', () => {
    assert.equal(tokens.length, batch.length)
    for (const [i, t] of tokens.entries()) {
      assert.ok(Buffer.isBuffer(t))
      assert.equal(decodePathToken(t)?.claims.route, `web-${i}`)
      assert.equal(verifyPathToken(t, key.publicKey, atRelay1), 'ok', `token ${i}`)
    }
    assert.equal(new Set(tokens.map(signatureOf)).size, 3)
    assert.equal(signatureOf(tokens[0]!), signatureOf(tokens[63]!))
    assert.notEqual(signatureOf(tokens[63]!), signatureOf(tokens[64]!))
  })

  it("never accepts one token's claims with another's proof", () => {
    const a = decodePathToken(tokens[1]!)!
    const b = tokens[2]!
    const swapped = Buffer.concat([
      tokens[1]!.subarray(0, a.bodyLength),
      b.subarray(decodePathToken(b)!.bodyLength),
    ])
    assert.equal(verifyPathToken(swapped, key.publicKey, atRelay1), 'forged')
    const shortProof = Buffer.from(tokens[5]!)
    shortProof[a.bodyLength] = 1 // leaf count 1: a proof with hashes does not fit a tree of one leaf
    assert.equal(verifyPathToken(shortProof, key.publicKey, atRelay1), 'malformed')
  })

  it('signs the claims it can and gives the others their error', () => {
    const mixed = signPathTokens([claims, { ...claims, nodes: ['a', 'a'] }, claims], key.privateKey)
    assert.equal(verifyPathToken(mixed[0] as Buffer, key.publicKey, atRelay1), 'ok')
    assert.ok(mixed[1] instanceof PathTokenClaimError)
    assert.equal(verifyPathToken(mixed[2] as Buffer, key.publicKey, atRelay1), 'ok')
  })
})

describe('VerifiedTokens', () => {
  it('checks a signature once per token and key, and never remembers a forgery', () => {
    const verified = new VerifiedTokens()
    assert.equal(verified.has(key.publicKey, token), false)
    assert.equal(verifyPathToken(token, key.publicKey, atRelay1, verified), 'ok')
    assert.equal(verified.has(key.publicKey, token), true)
    assert.equal(
      verifyPathToken(token, key.publicKey, { ...atRelay1, now: claims.expiresAt }, verified),
      'expired',
    )
    assert.equal(verifyPathToken(token, key.publicKey, { ...atRelay1, nodeId: 'x' }, verified), 'not_on_path')
    const other = generateSigningKey().publicKey
    assert.equal(verifyPathToken(token, other, atRelay1, verified), 'forged', 'remembered for its key only')
    const forged = Buffer.from(token)
    forged[forged.length - 1]! ^= 1
    assert.equal(verifyPathToken(forged, key.publicKey, atRelay1, verified), 'forged')
    assert.equal(verified.has(key.publicKey, forged), false)
  })

  it('forgets the oldest token beyond its capacity', () => {
    const verified = new VerifiedTokens(2)
    const [a, b, c] = signPathTokens([claims, claims, claims], key.privateKey) as Buffer[]
    for (const t of [a, b, c]) verified.add(key.publicKey, t!)
    assert.deepEqual(
      [a, b, c].map((t) => verified.has(key.publicKey, t!)),
      [false, true, true],
    )
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
    const nodes = Array.from({ length: 16 }, (_, i) => `node-${i}-${'x'.repeat(50)}`)
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
