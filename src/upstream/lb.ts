/**
 * Load balancing: which endpoint of a cluster a new flow connects to. Pure apart from each
 * balancer's own small state (round-robin counters); the caller says which endpoints are eligible
 * with a 0/1 mask it reuses, so a pick allocates nothing. An endpoint with weight 0 is never picked,
 * whatever the mask says.
 */
import type { LbAlgorithm } from '../config/types.ts'

/** What a balancer reads of an endpoint; the cluster's live per-endpoint state satisfies it. */
export interface LbEndpoint {
  readonly weight: number
  /** Connections open or being opened to it. */
  readonly active: number
}

/** A uniform number in [0, 1), as Math.random. */
export type RandomSource = () => number

export interface Balancer {
  /** An index i with `eligible[i] === 1` and a weight above 0, or -1 when there is none. */
  pick(endpoints: readonly LbEndpoint[], eligible: Uint8Array, sourceIp: string): number
}

/** `keys` are the endpoints' addresses, in config order: source_hash hashes them. */
export function createBalancer(
  algorithm: LbAlgorithm,
  keys: readonly string[],
  random: RandomSource,
): Balancer {
  switch (algorithm) {
    case 'round_robin':
      return new SmoothRoundRobin(keys.length)
    case 'least_conn':
      return new LeastConn(keys.length)
    case 'random_two':
      return new RandomTwo(random)
    case 'source_hash':
      return new SourceHash(keys)
    case 'first':
      return FIRST
  }
}

function usable(endpoints: readonly LbEndpoint[], eligible: Uint8Array, i: number): boolean {
  return eligible[i] === 1 && endpoints[i]!.weight > 0
}

/**
 * nginx's smooth weighted round robin: weights 5,1,1 give a a b a c a a rather than a a a a a b c,
 * so a heavy endpoint never takes a burst of consecutive flows.
 */
class SmoothRoundRobin implements Balancer {
  readonly #current: Float64Array
  constructor(size: number) {
    this.#current = new Float64Array(size)
  }

  pick(endpoints: readonly LbEndpoint[], eligible: Uint8Array): number {
    const current = this.#current
    let total = 0
    let best = -1
    for (let i = 0; i < endpoints.length; i++) {
      if (!usable(endpoints, eligible, i)) continue
      const weight = endpoints[i]!.weight
      current[i]! += weight
      total += weight
      if (best < 0 || current[i]! > current[best]!) best = i
    }
    if (best >= 0) current[best]! -= total
    return best
  }
}

/** a is less loaded than b when a.active / a.weight < b.active / b.weight (cross-multiplied: no division). */
function compareLoad(a: LbEndpoint, b: LbEndpoint): number {
  return a.active * b.weight - b.active * a.weight
}

/** Fewest active connections per unit of weight; ties share flows by smooth weighted round robin, as nginx. */
class LeastConn implements Balancer {
  readonly #ties: Uint8Array
  readonly #roundRobin: SmoothRoundRobin
  constructor(size: number) {
    this.#ties = new Uint8Array(size)
    this.#roundRobin = new SmoothRoundRobin(size)
  }

  pick(endpoints: readonly LbEndpoint[], eligible: Uint8Array): number {
    let least = -1
    for (let i = 0; i < endpoints.length; i++) {
      if (
        usable(endpoints, eligible, i) &&
        (least < 0 || compareLoad(endpoints[i]!, endpoints[least]!) < 0)
      ) {
        least = i
      }
    }
    if (least < 0) return -1
    const ties = this.#ties
    for (let i = 0; i < endpoints.length; i++) {
      ties[i] = usable(endpoints, eligible, i) && compareLoad(endpoints[i]!, endpoints[least]!) === 0 ? 1 : 0
    }
    return this.#roundRobin.pick(endpoints, ties)
  }
}

/**
 * Power of two random choices: two endpoints drawn in proportion to weight, the less loaded wins
 * (the first drawn on a tie, so idle clusters still split by weight). Near least_conn's balance
 * without its herd onto one freshly idle endpoint when several nodes decide at once.
 */
class RandomTwo implements Balancer {
  readonly #random: RandomSource
  constructor(random: RandomSource) {
    this.#random = random
  }

  pick(endpoints: readonly LbEndpoint[], eligible: Uint8Array): number {
    let total = 0
    for (let i = 0; i < endpoints.length; i++) {
      if (usable(endpoints, eligible, i)) total += endpoints[i]!.weight
    }
    if (total === 0) return -1
    const a = drawWeighted(endpoints, eligible, total * this.#random())
    const b = drawWeighted(endpoints, eligible, total * this.#random())
    return compareLoad(endpoints[b]!, endpoints[a]!) < 0 ? b : a
  }
}

function drawWeighted(endpoints: readonly LbEndpoint[], eligible: Uint8Array, target: number): number {
  let last = -1
  let rest = target
  for (let i = 0; i < endpoints.length; i++) {
    if (!usable(endpoints, eligible, i)) continue
    rest -= endpoints[i]!.weight
    if (rest < 0) return i
    last = i
  }
  return last
}

/**
 * Weighted rendezvous hashing: every (client, endpoint) pair gets a score, the highest wins. A
 * client keeps its endpoint while that endpoint stays eligible, and when one leaves only its own
 * clients move (about 1/n of them). Scores depend on addresses, not indexes, so every node and
 * every restart agrees.
 */
class SourceHash implements Balancer {
  readonly #keyHashes: Uint32Array
  constructor(keys: readonly string[]) {
    this.#keyHashes = Uint32Array.from(keys, (key) => fmix32(fnv1a(key)))
  }

  pick(endpoints: readonly LbEndpoint[], eligible: Uint8Array, sourceIp: string): number {
    const client = fmix32(fnv1a(sourceIp))
    let best = -1
    let bestScore = Number.NEGATIVE_INFINITY
    for (let i = 0; i < endpoints.length; i++) {
      if (!usable(endpoints, eligible, i)) continue
      const score = rendezvousScore(client, this.#keyHashes[i]!, endpoints[i]!.weight)
      if (score > bestScore) {
        best = i
        bestScore = score
      }
    }
    return best
  }
}

const TWO_POW_32 = 4294967296

/** -weight / ln(u) with u uniform in (0, 1): the winner's share is exactly weight / Σweight. */
export function rendezvousScore(client: number, key: number, weight: number): number {
  const u = (fmix32(client ^ key) + 0.5) / TWO_POW_32
  return -weight / Math.log(u)
}

/** FNV-1a over UTF-16 code units: fast, no allocation; fmix32 afterwards supplies the avalanche. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** MurmurHash3's finaliser: every input bit flips each output bit with probability about 1/2. */
export function fmix32(value: number): number {
  let h = value
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Failover: the first eligible endpoint in config order takes every flow. */
const FIRST: Balancer = {
  pick(endpoints: readonly LbEndpoint[], eligible: Uint8Array): number {
    for (let i = 0; i < endpoints.length; i++) {
      if (usable(endpoints, eligible, i)) return i
    }
    return -1
  },
}
