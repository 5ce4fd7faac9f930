/**
 * An index-based copy of a Graph (compressed adjacency, typed arrays) that the searches walk
 * without string lookups. Compiled once per Graph object and cached: a Graph is immutable.
 */

import { isUsable, latencyWeight } from './edge-costs.ts'
import type { Graph, GraphLink, PathConstraints } from './types.ts'

export interface CompiledGraph {
  readonly ids: readonly string[]
  readonly index: ReadonlyMap<string, number>
  readonly regions: readonly string[]
  readonly nodeUp: Uint8Array
  /** Edges of node v are `offsets[v] .. offsets[v + 1]`; only usable links between up nodes. */
  readonly offsets: Int32Array
  readonly tails: Int32Array
  readonly heads: Int32Array
  /** Edges into node v are `reverseEdges[reverseOffsets[v] .. reverseOffsets[v + 1]]`. */
  readonly reverseOffsets: Int32Array
  readonly reverseEdges: Int32Array
  readonly links: readonly GraphLink[]
  readonly latency: Float64Array
  readonly cost: Float64Array
  readonly capacity: Float64Array
}

const cache = new WeakMap<Graph, CompiledGraph>()

export function compile(graph: Graph): CompiledGraph {
  let compiled = cache.get(graph)
  if (!compiled) {
    compiled = build(graph)
    cache.set(graph, compiled)
  }
  return compiled
}

function build(graph: Graph): CompiledGraph {
  const ids = [...graph.nodes.keys()]
  const index = new Map(ids.map((id, i) => [id, i]))
  const nodeUp = new Uint8Array(ids.length)
  const regions = ids.map((id, i) => {
    const node = graph.nodes.get(id)!
    nodeUp[i] = node.up ? 1 : 0
    return node.region
  })
  const offsets = new Int32Array(ids.length + 1)
  const edges: GraphLink[] = []
  const tails: number[] = []
  const heads: number[] = []
  ids.forEach((id, v) => {
    offsets[v] = edges.length
    if (!nodeUp[v]) return
    for (const link of graph.links.get(id) ?? []) {
      const head = index.get(link.to)
      if (head === undefined || !nodeUp[head] || !isUsable(link)) continue
      edges.push(link)
      tails.push(v)
      heads.push(head)
    }
  })
  offsets[ids.length] = edges.length
  const reverse = reverseIndex(ids.length, heads)
  return {
    ids,
    index,
    regions,
    nodeUp,
    offsets,
    tails: Int32Array.from(tails),
    heads: Int32Array.from(heads),
    reverseOffsets: reverse.offsets,
    reverseEdges: reverse.edges,
    links: edges,
    latency: Float64Array.from(edges, latencyWeight),
    cost: Float64Array.from(edges, (l) => l.costPerGb),
    capacity: Float64Array.from(edges, (l) => l.throughputBps),
  }
}

function reverseIndex(n: number, heads: readonly number[]): { offsets: Int32Array; edges: Int32Array } {
  const offsets = new Int32Array(n + 1)
  for (const head of heads) offsets[head + 1] = offsets[head + 1]! + 1
  for (let v = 0; v < n; v++) offsets[v + 1] = offsets[v + 1]! + offsets[v]!
  const next = offsets.slice(0, n)
  const edges = new Int32Array(heads.length)
  heads.forEach((head, e) => {
    edges[next[head]!] = e
    next[head] = next[head]! + 1
  })
  return { offsets, edges }
}

/** Which nodes may be a path's ends, and which may relay, under some constraints. */
export interface NodeMasks {
  readonly endpoint: Uint8Array
  readonly relay: Uint8Array
}

const masksCache = new WeakMap<CompiledGraph, Map<string, NodeMasks>>()

/** Cached per graph and constraints: every ingress of a service asks with the same ones. */
export function nodeMasks(g: CompiledGraph, constraints: PathConstraints): NodeMasks {
  let perGraph = masksCache.get(g)
  if (!perGraph) {
    perGraph = new Map()
    masksCache.set(g, perGraph)
  }
  const key = JSON.stringify([
    constraints.avoidRegions ?? [],
    constraints.avoidNodes ?? [],
    constraints.requireRegions?.length ? constraints.requireRegions : null,
  ])
  let masks = perGraph.get(key)
  if (!masks) {
    masks = buildMasks(g, constraints)
    perGraph.set(key, masks)
  }
  return masks
}

function buildMasks(g: CompiledGraph, constraints: PathConstraints): NodeMasks {
  const avoidRegions = new Set(constraints.avoidRegions ?? [])
  const avoidNodes = new Set(constraints.avoidNodes ?? [])
  const require = constraints.requireRegions?.length ? new Set(constraints.requireRegions) : undefined
  const endpoint = new Uint8Array(g.ids.length)
  const relay = new Uint8Array(g.ids.length)
  for (let v = 0; v < g.ids.length; v++) {
    const ok = g.nodeUp[v] === 1 && !avoidRegions.has(g.regions[v]!) && !avoidNodes.has(g.ids[v]!)
    endpoint[v] = ok ? 1 : 0
    relay[v] = ok && (!require || require.has(g.regions[v]!)) ? 1 : 0
  }
  return { endpoint, relay }
}
