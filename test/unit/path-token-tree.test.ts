import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  buildTree,
  leafHash,
  rootFromProof,
  TREE_MAX_LEAVES,
} from '../../src/mesh/security/path-token-tree.ts'

const leaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)))

describe('path token tree', () => {
  it('leads every leaf of every tree size back to its root, with at most 6 hashes', () => {
    for (let n = 1; n <= TREE_MAX_LEAVES; n++) {
      const hashes = leaves(n)
      const tree = buildTree(hashes)
      for (const [i, leaf] of hashes.entries()) {
        const proof = tree.proofs[i] ?? []
        assert.ok(proof.length <= 6, `n=${n} i=${i}: ${proof.length} hashes`)
        assert.deepEqual(rootFromProof(leaf, i, n, proof), tree.root, `n=${n} i=${i}`)
      }
    }
  })

  it('gives different batches different roots, an odd last leaf included', () => {
    const three = buildTree(leaves(3)).root
    const fourWithCopy = buildTree([...leaves(3), leaves(3)[2] as Buffer]).root
    assert.notDeepEqual(three, fourWithCopy)
    assert.notDeepEqual(buildTree(leaves(1)).root, buildTree(leaves(2)).root)
  })

  it('refuses a proof that does not fit the place it claims', () => {
    const hashes = leaves(10)
    const tree = buildTree(hashes)
    const proof = tree.proofs[3] ?? []
    const leaf = hashes[3] as Buffer
    assert.equal(rootFromProof(leaf, 3, 10, proof.slice(1)), undefined, 'a hash short')
    assert.equal(rootFromProof(leaf, 3, 10, [...proof, leaf]), undefined, 'a hash too many')
    assert.equal(rootFromProof(leaf, 10, 10, proof), undefined, 'index beyond the leaves')
    assert.equal(rootFromProof(leaf, 0, 65, proof), undefined, 'more leaves than a tree holds')
    assert.notDeepEqual(rootFromProof(leaf, 2, 10, proof), tree.root, 'another place')
    assert.notDeepEqual(rootFromProof(hashes[4] as Buffer, 3, 10, proof), tree.root, 'another leaf')
  })

  it('holds 1 to 64 leaves', () => {
    assert.throws(() => buildTree([]), RangeError)
    assert.throws(() => buildTree(leaves(65)), RangeError)
  })
})
