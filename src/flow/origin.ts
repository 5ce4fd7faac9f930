/**
 * Where a flow stands in the mesh when this node routes it: which nodes it has crossed and how
 * many further hops it may take. A flow from a listener starts here; a relayed flow brings its
 * history in the open request.
 */
export interface FlowOrigin {
  /** Nodes the flow has crossed, this one last. */
  readonly crossed: readonly string[]
  /** Further hops the flow may take from this node. */
  readonly remainingHops: number
  /** The port the flow arrived on at its ingress: how a peer target routes it. */
  readonly ingressPort: number
  /** Carried from the ingress; a new one is drawn when absent. */
  readonly flowId?: Buffer
  readonly traceId?: Buffer
}
