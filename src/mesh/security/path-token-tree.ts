/**
 * The hash tree that lets one signature cover a batch of path tokens. The scheduler hashes each
 * token's body into a leaf, builds a binary tree over up to TREE_MAX_LEAVES leaves and signs the
 * root once; each token carries its leaf index and the sibling hashes up to the root (its proof).
 * A relay recomputes the root from the body and the proof, and checks the one signature, which it
 * may then remember for every other token of the batch.
 *
 * Leaves and inner nodes are hashed with different prefixes, so no inner node can pass for a leaf.
 * A level with an odd count moves its last node up unpaired rather than pairing it with a copy of
 * itself: two different batches can then never have the same root.
 */
import { hash } from 'node:crypto'

export const TREE_HASH_BYTES = 32
/** A token's proof then has at most 6 hashes (192 bytes): small enough for every flow's header. */
export const TREE_MAX_LEAVES = 64
export const TREE_PROOF_MAX_HASHES = 6

const LEAF = 0
const INNER = 1

export function leafHash(body: Buffer): Buffer {
  return hash('sha256', Buffer.concat([Buffer.of(LEAF), body]), 'buffer')
}

/** Hashed from one scratch buffer: a tree of 64 leaves hashes 63 pairs. */
const pair = Buffer.alloc(1 + 2 * TREE_HASH_BYTES)

function innerHash(left: Buffer, right: Buffer): Buffer {
  pair[0] = INNER
  left.copy(pair, 1)
  right.copy(pair, 1 + TREE_HASH_BYTES)
  return hash('sha256', pair, 'buffer')
}

export interface Tree {
  readonly root: Buffer
  /** Per leaf, in order: the sibling hashes from the leaf up to the root. */
  readonly proofs: readonly Buffer[][]
}

/** The tree over 1..TREE_MAX_LEAVES leaf hashes. */
export function buildTree(leaves: readonly Buffer[]): Tree {
  if (leaves.length < 1 || leaves.length > TREE_MAX_LEAVES) {
    throw new RangeError(`a path token tree has 1..${TREE_MAX_LEAVES} leaves, not ${leaves.length}`)
  }
  const proofs: Buffer[][] = leaves.map(() => [])
  // Which leaves sit under each node of the current level, to hand each its siblings.
  let under: number[][] = leaves.map((_, i) => [i])
  let level = [...leaves]
  while (level.length > 1) {
    const next: Buffer[] = []
    const nextUnder: number[][] = []
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i] as Buffer
      const right = level[i + 1]
      const leftLeaves = under[i] as number[]
      if (right === undefined) {
        next.push(left)
        nextUnder.push(leftLeaves)
        continue
      }
      const rightLeaves = under[i + 1] as number[]
      for (const leaf of leftLeaves) proofs[leaf]?.push(right)
      for (const leaf of rightLeaves) proofs[leaf]?.push(left)
      next.push(innerHash(left, right))
      nextUnder.push([...leftLeaves, ...rightLeaves])
    }
    level = next
    under = nextUnder
  }
  return { root: level[0] as Buffer, proofs }
}

/**
 * The root a leaf and its proof lead to, in a tree of `leafCount` leaves; undefined when the
 * proof has too few or too many hashes for that place in that tree.
 */
export function rootFromProof(
  leaf: Buffer,
  index: number,
  leafCount: number,
  proof: readonly Buffer[],
): Buffer | undefined {
  if (!(leafCount >= 1 && leafCount <= TREE_MAX_LEAVES && index >= 0 && index < leafCount)) return undefined
  let hash = leaf
  let at = index
  let width = leafCount
  let used = 0
  while (width > 1) {
    const unpaired = at === width - 1 && width % 2 === 1
    if (!unpaired) {
      const sibling = proof[used++]
      if (sibling === undefined) return undefined
      hash = at % 2 === 0 ? innerHash(hash, sibling) : innerHash(sibling, hash)
    }
    at = Math.floor(at / 2)
    width = Math.ceil(width / 2)
  }
  return used === proof.length ? hash : undefined
}
