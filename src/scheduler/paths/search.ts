/**
 * Single-pair searches over a compiled graph, the building block of Yen's algorithm. Labels are
 * compared lexicographically (primary weight, secondary weight, hops): the hop count makes every
 * cycle strictly worse, so the best walk found is always a loopless path. Without a hop limit the
 * search is A* (Dijkstra guided by lower bounds to the target) with a binary heap and stops at the
 * target; with a limit below the node count
 * it is a Bellman-Ford over hop layers, which is exact where Dijkstra would not be.
 */
import { clearlyWorse, type Rank } from './bound.ts'
import type { CompiledGraph } from './compiled.ts'
import { BinaryHeap } from './heap.ts'
import { labelLess } from './label.ts'
import type { AdditivePotential } from './potential.ts'
import { nextStamp, scratchFor } from './scratch.ts'

export interface SearchSpace {
  readonly g: CompiledGraph
  /** Nodes that may relay; the target needs no entry. */
  readonly relay: Uint8Array
  readonly bannedNodes: Uint8Array
  readonly bannedEdges: Uint8Array
}

export interface AdditiveWeights {
  readonly primary: Float64Array
  /** Breaks ties of the primary weight. */
  readonly secondary?: Float64Array
  /** Edges with less capacity are skipped (the throughput objective's floor). */
  readonly minCapacity: number
  /** Lower bounds to the target (A*); used by the unlimited-hops search only. */
  readonly potential?: AdditivePotential
}

/**
 * A bound on what is worth finding, for the unlimited-hops search: a walk whose label plus
 * `offset` (the root it will be appended to) ranks clearly worse than `rank` is not wanted.
 */
export interface SearchLimit {
  readonly rank: Rank
  readonly offsetA: number
  readonly offsetB: number
}

/** Node and edge indexes from the source to the target. */
export interface Walk {
  readonly nodes: readonly number[]
  readonly edges: readonly number[]
}

/** Whether a search from `source` to `target` may take link `e` into `v` under the bans. */
export function admits(space: SearchSpace, source: number, target: number, e: number, v: number): boolean {
  if (space.bannedEdges[e] === 1 || space.bannedNodes[v] === 1 || v === source) return false
  return v === target || space.relay[v] === 1
}

/** A reached node: its label, and the label plus its potential that orders the heap. */
interface Entry {
  readonly v: number
  readonly a: number
  readonly b: number
  readonly h: number
  readonly fa: number
  readonly fb: number
  readonly fh: number
}

const entryLess = (x: Entry, y: Entry): boolean => labelLess(x.fa, x.fb, x.fh, y.fa, y.fb, y.fh)

/**
 * The best walk, or undefined when there is none, or, with `limit`, when the best is not wanted:
 * A* pops labels in order of (label + lower bound), so once one is clearly worse than the limit,
 * so is every walk still to be found.
 */
export function shortestWalk(
  space: SearchSpace,
  w: AdditiveWeights,
  source: number,
  target: number,
  maxHops: number,
  limit?: SearchLimit,
): Walk | undefined {
  const n = space.g.ids.length
  if (maxHops < n - 1) return layeredShortest(space, w, source, target, maxHops)
  const { offsets, heads, capacity } = space.g
  const scratch = scratchFor(space.g)
  const stamp = nextStamp(scratch)
  const { reached, done, a: da, b: db, h: dh, via } = scratch
  const heap = new BinaryHeap<Entry>(entryLess)
  const pa = w.potential?.a
  const pb = w.potential?.b
  const ph = w.potential?.h
  reached[source] = stamp
  heap.push({ v: source, a: 0, b: 0, h: 0, fa: 0, fb: 0, fh: 0 })
  for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
    const u = top.v
    if (done[u] === stamp) continue
    if (limit && clearlyWorse(limit.offsetA + top.fa, limit.offsetB + top.fb, limit.rank)) return undefined
    done[u] = stamp
    if (u === target) return unwind(space.g, via, source, target)
    for (let e = offsets[u]!; e < offsets[u + 1]!; e++) {
      const v = heads[e]!
      if (done[v] === stamp || capacity[e]! < w.minCapacity || !admits(space, source, target, e, v)) continue
      const a = top.a + w.primary[e]!
      const b = top.b + (w.secondary ? w.secondary[e]! : 0)
      const h = top.h + 1
      if (reached[v] === stamp && !labelLess(a, b, h, da[v]!, db[v]!, dh[v]!)) continue
      const fa = a + (pa ? pa[v]! : 0)
      if (fa === Number.POSITIVE_INFINITY) continue
      reached[v] = stamp
      da[v] = a
      db[v] = b
      dh[v] = h
      via[v] = e
      heap.push({ v, a, b, h, fa, fb: b + (pb ? pb[v]! : 0), fh: h + (ph ? ph[v]! : 0) })
    }
  }
  return undefined
}

function unwind(g: CompiledGraph, via: Int32Array, source: number, target: number): Walk {
  const nodes = [target]
  const edges: number[] = []
  for (let v = target; v !== source; ) {
    const e = via[v]!
    edges.push(e)
    v = g.tails[e]!
    nodes.push(v)
  }
  return { nodes: nodes.reverse(), edges: edges.reverse() }
}

/** Layer L holds the best walk of at most L hops; `via` −1 means "same as layer L − 1". */
function layeredShortest(
  space: SearchSpace,
  w: AdditiveWeights,
  source: number,
  target: number,
  maxHops: number,
): Walk | undefined {
  const { g } = space
  const n = g.ids.length
  let a = new Float64Array(n).fill(Number.POSITIVE_INFINITY)
  let b = new Float64Array(n)
  let h = new Int32Array(n)
  const via = new Int32Array((maxHops + 1) * n).fill(-1)
  a[source] = 0
  let frontier = [source]
  for (let layer = 1; layer <= maxHops && frontier.length > 0; layer++) {
    const na = a.slice()
    const nb = b.slice()
    const nh = h.slice()
    const next: number[] = []
    for (const u of frontier) {
      if (u === target) continue
      for (let e = g.offsets[u]!; e < g.offsets[u + 1]!; e++) {
        const v = g.heads[e]!
        if (g.capacity[e]! < w.minCapacity || !admits(space, source, target, e, v)) continue
        const ca = a[u]! + w.primary[e]!
        const cb = b[u]! + (w.secondary ? w.secondary[e]! : 0)
        const ch = h[u]! + 1
        if (na[v] !== Number.POSITIVE_INFINITY && !labelLess(ca, cb, ch, na[v]!, nb[v]!, nh[v]!)) continue
        if (via[layer * n + v] === -1) next.push(v)
        na[v] = ca
        nb[v] = cb
        nh[v] = ch
        via[layer * n + v] = e
      }
    }
    a = na
    b = nb
    h = nh
    frontier = next
  }
  if (a[target] === Number.POSITIVE_INFINITY) return undefined
  return unwindLayers(g, via, n, maxHops, source, target)
}

function unwindLayers(
  g: CompiledGraph,
  via: Int32Array,
  n: number,
  maxHops: number,
  source: number,
  target: number,
): Walk {
  const nodes = [target]
  const edges: number[] = []
  let layer = maxHops
  for (let v = target; v !== source; layer--) {
    while (via[layer * n + v] === -1) layer--
    const e = via[layer * n + v]!
    edges.push(e)
    v = g.tails[e]!
    nodes.push(v)
  }
  return { nodes: nodes.reverse(), edges: edges.reverse() }
}

/** A* bounds for the widest search: the widest reach and the latency to the target per node. */
export interface WidestBounds {
  readonly width: Float64Array
  readonly latency: Float64Array
}

/**
 * The largest bottleneck capacity of any admissible path; −Infinity when there is none. `bound`,
 * the widest bottleneck and the latency from each node ignoring bans, makes it an A* search.
 * Links narrower than `floor` are left out: a caller that wants no path narrower learns that
 * there is none sooner.
 */
export function widestBottleneck(
  space: SearchSpace,
  source: number,
  target: number,
  maxHops: number,
  bound?: WidestBounds,
  floor = Number.NEGATIVE_INFINITY,
): number {
  const { g } = space
  const n = g.ids.length
  if (maxHops < n - 1) return layeredWidest(space, source, target, maxHops, floor)
  const scratch = scratchFor(g)
  const stamp = nextStamp(scratch)
  // Per node, where `reached` carries the stamp: `a` the widest bottleneck found so far, `b` the
  // latency of the way it was found, which with the latency bound orders equal keys towards the
  // target. Only the width is the answer, so a node is expanded with its best width so far.
  const { reached, done, a: best, b: lat, wide: heap } = scratch
  heap.clear()
  reached[source] = stamp
  best[source] = Number.POSITIVE_INFINITY
  lat[source] = 0
  heap.push(source, Number.NEGATIVE_INFINITY, 0)
  for (let u = heap.pop(); u >= 0; u = heap.pop()) {
    if (done[u] === stamp) continue
    done[u] = stamp
    if (u === target) return best[u]!
    for (let e = g.offsets[u]!; e < g.offsets[u + 1]!; e++) {
      const v = g.heads[e]!
      if (done[v] === stamp || g.capacity[e]! < floor || !admits(space, source, target, e, v)) continue
      const width = Math.min(best[u]!, g.capacity[e]!)
      if (reached[v] === stamp && width <= best[v]!) continue
      const key = bound ? Math.min(width, bound.width[v]!) : width
      // Every way on from v is as narrow as its key at most.
      if (key === Number.NEGATIVE_INFINITY || key < floor) continue
      reached[v] = stamp
      best[v] = width
      lat[v] = lat[u]! + g.latency[e]!
      heap.push(v, -key, lat[v]! + (bound ? bound.latency[v]! : 0))
    }
  }
  return Number.NEGATIVE_INFINITY
}

function layeredWidest(
  space: SearchSpace,
  source: number,
  target: number,
  maxHops: number,
  floor: number,
): number {
  const { g } = space
  let best = new Float64Array(g.ids.length).fill(Number.NEGATIVE_INFINITY)
  best[source] = Number.POSITIVE_INFINITY
  let frontier = [source]
  for (let layer = 1; layer <= maxHops && frontier.length > 0; layer++) {
    const next = best.slice()
    const improved = new Set<number>()
    for (const u of frontier) {
      if (u === target) continue
      for (let e = g.offsets[u]!; e < g.offsets[u + 1]!; e++) {
        const v = g.heads[e]!
        if (g.capacity[e]! < floor || !admits(space, source, target, e, v)) continue
        const width = Math.min(best[u]!, g.capacity[e]!)
        if (width <= next[v]!) continue
        next[v] = width
        improved.add(v)
      }
    }
    best = next
    frontier = [...improved]
  }
  return best[target]!
}
