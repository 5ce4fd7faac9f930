/**
 * The inputs and outputs of path computation: a directed graph of nodes and measured links, an
 * objective and constraints. Pure data; the scheduler builds it from node reports.
 */

export type Objective = 'latency' | 'throughput' | 'cost'

export interface GraphNode {
  readonly id: string
  readonly region: string
  /** Whether the node is connected to the scheduler and may carry new flows. */
  readonly up: boolean
}

/** A link as its `from` node measures it (reports are one-directional). */
export interface GraphLink {
  readonly from: string
  readonly to: string
  readonly up: boolean
  readonly rttMs: number
  readonly jitterMs: number
  /** 0..1 */
  readonly loss: number
  /** Estimated capacity in bytes per second; 0 when unknown. */
  readonly throughputBps: number
  /** Configured price per GB sent over this link; 0 when none is configured. */
  readonly costPerGb: number
}

export interface Graph {
  readonly nodes: ReadonlyMap<string, GraphNode>
  /** Outgoing links by node id. */
  readonly links: ReadonlyMap<string, readonly GraphLink[]>
}

export interface PathConstraints {
  /** No node of the path (ingress and egress included) may be in these regions. */
  readonly avoidRegions?: readonly string[]
  /** Every relay (not ingress/egress) must be in one of these regions, when given. */
  readonly requireRegions?: readonly string[]
  /** At most this many links. */
  readonly maxHops?: number
  /** Nodes the path may not cross. */
  readonly avoidNodes?: readonly string[]
}

export interface PathMetrics {
  /** Sum of link RTTs. */
  readonly rttMs: number
  /** The smallest link capacity on the path; 0 when unknown. */
  readonly bottleneckBps: number
  /** 1 − Π(1 − loss) */
  readonly loss: number
  readonly costPerGb: number
}

export interface ComputedPath {
  /** Node ids from the ingress to the egress; one element: the ingress is the egress. */
  readonly nodes: readonly string[]
  /** The objective's cost: lower is better, comparable across paths for one objective. */
  readonly cost: number
  readonly metrics: PathMetrics
}
