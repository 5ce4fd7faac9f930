/**
 * Path tokens and the hash tree that lets one signature cover a batch of them: what the scheduler
 * signs decodes to the same claims and verifies on the path; a token signed by one key never
 * verifies under another; any changed bit or any other bytes never verify.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  decodePathToken,
  PATH_TOKEN_MAX_BYTES,
  PATH_TOKEN_MAX_NODES,
  type PathTokenCheck,
  type PathTokenClaims,
  VerifiedTokens,
  verifyPathToken,
} from '../../src/mesh/security/path-token.ts'
import {
  buildTree,
  leafHash,
  rootFromProof,
  TREE_MAX_LEAVES,
  TREE_PROOF_MAX_HASHES,
} from '../../src/mesh/security/path-token-tree.ts'
import { generateSigningKey, signPathToken, signPathTokens } from '../../src/scheduler/token.ts'
import { bytes, bytesAfter, check, mutated } from './kit.ts'
import { text } from './text.ts'

const key = generateSigningKey()
const otherKey = generateSigningKey()
const NOW = 1_800_000_000_000

const claims: fc.Arbitrary<PathTokenClaims> = fc.record(
  {
    route: text(255),
    nodes: fc.uniqueArray(text(255, 10), { minLength: 1, maxLength: 8 }),
    targets: fc.array(text(261, 30), { maxLength: 4 }),
    expiresAt: fc.oneof(fc.integer({ min: NOW + 1, max: NOW + 3_600_000 }), fc.maxSafeNat()),
  },
  { noNullPrototype: true },
)

/** A path of at least two nodes, so that some node after the ingress checks the token. */
const pathClaims = claims.filter((c) => c.nodes.length >= 2 && c.expiresAt > NOW)

/** What the node at `at` (1 or more) checks: its id, the rest of the path, the egress's target. */
function checkAt(c: PathTokenClaims, at: number): PathTokenCheck {
  const last = at === c.nodes.length - 1
  return {
    nodeId: c.nodes[at]!,
    remainingPath: c.nodes.slice(at + 1),
    previousNode: c.nodes[at - 1]!,
    ...(last && c.targets.length > 0 && { target: c.targets[0]! }),
    now: NOW,
  }
}

/** A batch of tokens and one of them: the batch size decides the token's proof. */
const batchToken = fc
  .tuple(fc.array(pathClaims, { minLength: 1, maxLength: 12 }), fc.nat())
  .map(([batch, pick]) => {
    const tokens = signPathTokens(batch, key.privateKey)
    const i = pick % batch.length
    return { claims: batch[i]!, token: tokens[i]! }
  })
  .filter((t): t is { claims: PathTokenClaims; token: Buffer } => Buffer.isBuffer(t.token))

describe('path tokens', () => {
  test('round trip: signed claims decode back the same; too large ones are refused with their code', () => {
    check(
      fc.property(fc.array(claims, { minLength: 1, maxLength: 6 }), (batch) => {
        const tokens = signPathTokens(batch, key.privateKey)
        for (const [i, token] of tokens.entries()) {
          if (!Buffer.isBuffer(token)) {
            assert.match(token.code, /^DYN_ERR_PATHS_TOKEN_(TOO_LARGE|CLAIM)$/)
            continue
          }
          assert.ok(token.length <= PATH_TOKEN_MAX_BYTES)
          assert.deepEqual(decodePathToken(token)?.claims, batch[i])
        }
      }),
      60,
    )
  })

  test('every node after the ingress accepts its part of the path, under the signing key only', () => {
    check(
      fc.property(batchToken, fc.nat(), ({ claims: c, token }, pick) => {
        const at = 1 + (pick % (c.nodes.length - 1))
        assert.equal(verifyPathToken(token, key.publicKey, checkAt(c, at)), 'ok')
        assert.equal(verifyPathToken(token, otherKey.publicKey, checkAt(c, at)), 'forged')
        const cache = new VerifiedTokens()
        assert.equal(verifyPathToken(token, key.publicKey, checkAt(c, at), cache), 'ok')
        assert.equal(verifyPathToken(token, otherKey.publicKey, checkAt(c, at), cache), 'forged')
      }),
      60,
    )
  })

  test('any bit flipped anywhere in a token fails verification, also once the original is cached', () => {
    check(
      fc.property(batchToken, fc.nat(), fc.nat({ max: 7 }), ({ claims: c, token }, pick, bit) => {
        const cache = new VerifiedTokens()
        assert.equal(verifyPathToken(token, key.publicKey, checkAt(c, 1), cache), 'ok')
        const bad = Buffer.from(token)
        bad[pick % bad.length]! ^= 1 << bit
        for (const verified of [undefined, cache]) {
          const verdict = verifyPathToken(bad, key.publicKey, checkAt(c, 1), verified)
          assert.ok(verdict === 'forged' || verdict === 'malformed', `flipped bit verdict ${verdict}`)
        }
      }),
      100,
    )
  })

  test('a signed token mutated in any way (lengths, truncations, insertions) never verifies', () => {
    const changed = pathClaims.chain((c) => {
      const token = signPathToken(c, key.privateKey)
      return mutated(fc.constant(token)).map((m) => ({ c, token, bytes: m.bytes }))
    })
    check(
      fc.property(changed, ({ c, token, bytes: bad }) => {
        if (bad.equals(token)) return
        const verdict = verifyPathToken(bad, key.publicKey, checkAt(c, 1))
        assert.ok(verdict === 'forged' || verdict === 'malformed', `mutated token verdict ${verdict}`)
      }),
      100,
    )
  })

  test('a name starting with a byte-order mark keeps it: the token names no other node', () => {
    const path = { route: '\uFEFFweb', nodes: ['a', '\uFEFFb'], targets: [], expiresAt: NOW + 1 }
    const token = signPathToken(path, key.privateKey)
    assert.deepEqual(decodePathToken(token)?.claims, path)
    assert.equal(
      verifyPathToken(token, key.publicKey, { nodeId: '\uFEFFb', remainingPath: [], now: NOW }),
      'ok',
    )
    assert.equal(
      verifyPathToken(token, key.publicKey, { nodeId: 'b', remainingPath: [], now: NOW }),
      'not_on_path',
    )
  })

  test('random bytes never throw, never verify', () => {
    const prefix = Buffer.from([2, 0, 0, 1, 0xa0, 0, 0, 0, 0, 1, 0x61, 2, 1, 0x61, 1, 0x62, 0])
    check(
      fc.property(fc.oneof(bytes(1100), bytesAfter(prefix, 400)), (buf) => {
        const decoded = decodePathToken(buf)
        if (decoded) assert.ok(decoded.claims.nodes.length <= PATH_TOKEN_MAX_NODES)
        const verdict = verifyPathToken(buf, key.publicKey, { nodeId: 'b', remainingPath: [], now: 0 })
        assert.ok(verdict === 'malformed' || verdict === 'forged', `random bytes verdict ${verdict}`)
      }),
      300,
    )
  })
})

const leaf = fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => leafHash(Buffer.from(a)))
const leaves = fc.uniqueArray(leaf, {
  minLength: 1,
  maxLength: TREE_MAX_LEAVES,
  selector: (l) => l.toString('hex'),
})

describe('path token tree', () => {
  test('every leaf and its proof lead to the root, in at most six hashes', () => {
    check(
      fc.property(leaves, (ls) => {
        const tree = buildTree(ls)
        for (const [i, l] of ls.entries()) {
          const proof = tree.proofs[i]!
          assert.ok(proof.length <= TREE_PROOF_MAX_HASHES)
          assert.deepEqual(rootFromProof(l, i, ls.length, proof), tree.root)
        }
      }),
      60,
    )
  })

  test('another place or a changed proof never leads to the root', () => {
    check(
      fc.property(leaves, fc.nat(), fc.nat(), fc.nat({ max: 255 }), (ls, pick, other, bit) => {
        const tree = buildTree(ls)
        const i = pick % ls.length
        const proof = tree.proofs[i]!
        const j = other % ls.length
        if (j !== i) assert.notDeepEqual(rootFromProof(ls[i]!, j, ls.length, proof), tree.root)
        if (proof.length === 0) return
        const bad = proof.map((h) => Buffer.from(h))
        bad[bit % bad.length]![bit % 32]! ^= 1 << (bit % 8)
        assert.notDeepEqual(rootFromProof(ls[i]!, i, ls.length, bad), tree.root)
      }),
      100,
    )
  })
})
