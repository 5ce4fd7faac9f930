/**
 * Working arrays for the searches over one compiled graph, allocated once per graph instead of
 * once per search: a plan runs tens of thousands of searches over the same graph, and each would
 * otherwise allocate and clear arrays the size of the whole graph to visit a few nodes.
 *
 * Searches are synchronous and never nested, so one set per graph is enough. Per-node entries are
 * valid only where `reached` (or `done`) holds the current search's stamp: a new search takes a
 * new stamp instead of clearing.
 */
import type { CompiledGraph } from './compiled.ts'
import { NodeHeap } from './heap.ts'

export interface Scratch {
  readonly reached: Uint32Array
  readonly done: Uint32Array
  readonly a: Float64Array
  readonly b: Float64Array
  readonly h: Int32Array
  readonly via: Int32Array
  /** The bans of the problem being searched; each problem clears them before it starts. */
  readonly bannedNodes: Uint8Array
  readonly bannedEdges: Uint8Array
  /** The widest search's heap (search.ts). */
  readonly wide: NodeHeap
  stamp: number
}

const cache = new WeakMap<CompiledGraph, Scratch>()

export function scratchFor(g: CompiledGraph): Scratch {
  let scratch = cache.get(g)
  if (!scratch) {
    const n = g.ids.length
    scratch = {
      reached: new Uint32Array(n),
      done: new Uint32Array(n),
      a: new Float64Array(n),
      b: new Float64Array(n),
      h: new Int32Array(n),
      via: new Int32Array(n),
      bannedNodes: new Uint8Array(n),
      bannedEdges: new Uint8Array(g.heads.length),
      wide: new NodeHeap(),
      stamp: 0,
    }
    cache.set(g, scratch)
  }
  return scratch
}

/** A stamp no entry holds yet: the start of a search. */
export function nextStamp(s: Scratch): number {
  if (s.stamp === 0xffff_ffff) {
    s.reached.fill(0)
    s.done.fill(0)
    s.stamp = 0
  }
  s.stamp++
  return s.stamp
}
