/**
 * Lower bounds on the distance from every node to a target, for A*: one reverse search over the
 * whole graph, ignoring bans and constraints (which only lengthen paths), so the bound is
 * admissible and consistent for every search Yen's algorithm runs towards that target. Cached per
 * compiled graph and target: the scheduler asks many ingresses for the same egress.
 */
import type { CompiledGraph } from './compiled.ts'
import { BinaryHeap, NodeHeap } from './heap.ts'
import { labelLess } from './label.ts'

/** The best (primary, secondary, hops) label from each node to the target; Infinity: unreachable. */
export interface AdditivePotential {
  readonly a: Float64Array
  readonly b: Float64Array
  readonly h: Float64Array
}

type WeightKind = 'latency' | 'cost'

const additiveCache = new WeakMap<CompiledGraph, Map<string, AdditivePotential>>()
const widestCache = new WeakMap<CompiledGraph, Map<number, Float64Array>>()
const wideLatencyCache = new WeakMap<CompiledGraph, Map<string, Float64Array>>()

interface Entry {
  readonly v: number
  readonly a: number
  readonly b: number
  readonly h: number
}

export function additivePotential(g: CompiledGraph, target: number, kind: WeightKind): AdditivePotential {
  let perGraph = additiveCache.get(g)
  if (!perGraph) {
    perGraph = new Map()
    additiveCache.set(g, perGraph)
  }
  const key = `${kind}:${target}`
  let potential = perGraph.get(key)
  if (!potential) {
    potential = reverseAdditive(
      g,
      target,
      kind === 'latency' ? g.latency : g.cost,
      kind === 'cost' ? g.latency : undefined,
    )
    perGraph.set(key, potential)
  }
  return potential
}

function reverseAdditive(
  g: CompiledGraph,
  target: number,
  primary: Float64Array,
  secondary: Float64Array | undefined,
): AdditivePotential {
  const n = g.ids.length
  const a = new Float64Array(n).fill(Number.POSITIVE_INFINITY)
  const b = new Float64Array(n).fill(Number.POSITIVE_INFINITY)
  const h = new Float64Array(n).fill(Number.POSITIVE_INFINITY)
  const done = new Uint8Array(n)
  const heap = new BinaryHeap<Entry>((x, y) => labelLess(x.a, x.b, x.h, y.a, y.b, y.h))
  a[target] = 0
  b[target] = 0
  h[target] = 0
  heap.push({ v: target, a: 0, b: 0, h: 0 })
  for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
    const v = top.v
    if (done[v] === 1) continue
    done[v] = 1
    for (let i = g.reverseOffsets[v]!; i < g.reverseOffsets[v + 1]!; i++) {
      const e = g.reverseEdges[i]!
      const u = g.tails[e]!
      if (done[u] === 1) continue
      const na = top.a + primary[e]!
      const nb = top.b + (secondary ? secondary[e]! : 0)
      const nh = top.h + 1
      if (a[u] !== Number.POSITIVE_INFINITY && !labelLess(na, nb, nh, a[u]!, b[u]!, h[u]!)) continue
      a[u] = na
      b[u] = nb
      h[u] = nh
      heap.push({ v: u, a: na, b: nb, h: nh })
    }
  }
  return { a, b, h }
}

/** The widest bottleneck from each node to the target; −Infinity: unreachable. */
export function widestPotential(g: CompiledGraph, target: number): Float64Array {
  let perGraph = widestCache.get(g)
  if (!perGraph) {
    perGraph = new Map()
    widestCache.set(g, perGraph)
  }
  let potential = perGraph.get(target)
  if (!potential) {
    potential = reverseWidest(g, target)
    perGraph.set(target, potential)
  }
  return potential
}

function reverseWidest(g: CompiledGraph, target: number): Float64Array {
  const best = new Float64Array(g.ids.length).fill(Number.NEGATIVE_INFINITY)
  const done = new Uint8Array(g.ids.length)
  const heap = new BinaryHeap<{ readonly v: number; readonly width: number }>((x, y) => x.width > y.width)
  best[target] = Number.POSITIVE_INFINITY
  heap.push({ v: target, width: Number.POSITIVE_INFINITY })
  for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
    const v = top.v
    if (done[v] === 1) continue
    done[v] = 1
    for (let i = g.reverseOffsets[v]!; i < g.reverseOffsets[v + 1]!; i++) {
      const e = g.reverseEdges[i]!
      const u = g.tails[e]!
      const width = Math.min(top.width, g.capacity[e]!)
      if (done[u] === 1 || width <= best[u]!) continue
      best[u] = width
      heap.push({ v: u, width })
    }
  }
  return best
}

/**
 * The lowest latency from each node to the target over links at least `minCapacity` wide;
 * Infinity: none. The throughput objective's floor (problem.ts, rankFloor): a value that prunes,
 * never a search's guide, so a plain Dijkstra on the one weight does, in typed arrays.
 */
export function latencyOverWide(g: CompiledGraph, target: number, minCapacity: number): Float64Array {
  let perGraph = wideLatencyCache.get(g)
  if (!perGraph) {
    perGraph = new Map()
    wideLatencyCache.set(g, perGraph)
  }
  const key = `${target}:${minCapacity}`
  let latency = perGraph.get(key)
  if (!latency) {
    latency = reverseLatency(g, target, minCapacity)
    perGraph.set(key, latency)
  }
  return latency
}

const valueHeap = new NodeHeap()

function reverseLatency(g: CompiledGraph, target: number, minCapacity: number): Float64Array {
  const dist = new Float64Array(g.ids.length).fill(Number.POSITIVE_INFINITY)
  const done = new Uint8Array(g.ids.length)
  valueHeap.clear()
  dist[target] = 0
  valueHeap.push(target, 0, 0)
  for (let v = valueHeap.pop(); v >= 0; v = valueHeap.pop()) {
    if (done[v] === 1) continue
    done[v] = 1
    for (let i = g.reverseOffsets[v]!; i < g.reverseOffsets[v + 1]!; i++) {
      const e = g.reverseEdges[i]!
      const u = g.tails[e]!
      if (done[u] === 1 || g.capacity[e]! < minCapacity) continue
      const d = dist[v]! + g.latency[e]!
      if (d >= dist[u]!) continue
      dist[u] = d
      valueHeap.push(u, d, 0)
    }
  }
  return dist
}
