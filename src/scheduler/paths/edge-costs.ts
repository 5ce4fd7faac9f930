/**
 * Edge weights and path costs per objective (docs/path-computation.md explains the choices).
 */
import type { GraphLink, Objective, PathMetrics } from './types.ts'

/**
 * What one lost segment costs on top of the round trip that detects it: Linux's TCP_RTO_MIN.
 * Probes measure loss per packet; TCP pays about one minimum RTO per loss on a thin flow.
 */
export const LOSS_PENALTY_MS = 200

/** Jitter counts half: it delays some packets, not all. */
export const JITTER_WEIGHT = 0.5

/**
 * The expected delay of a packet over a link: the RTT, plus half the jitter, plus the expected
 * retransmissions per delivered packet, p/(1−p), each costing one RTT and one minimum RTO.
 */
export function latencyWeight(link: GraphLink): number {
  const p = link.loss
  return link.rttMs + JITTER_WEIGHT * link.jitterMs + (p / (1 - p)) * (link.rttMs + LOSS_PENALTY_MS)
}

/** A link whose every probe is lost carries nothing. */
export function isUsable(link: GraphLink): boolean {
  return link.up && link.loss < 1
}

const BYTES_PER_GB = 1e9

/**
 * The `cost` field of a path: lower is better.
 * - latency: the sum of link latency weights, in ms;
 * - throughput: seconds to send 1 GB at the bottleneck (unknown capacity counts as 1 B/s);
 * - cost: the sum of `costPerGb`.
 */
export function objectiveCost(
  objective: Objective,
  metrics: PathMetrics,
  latency: number,
  hops: number,
): number {
  switch (objective) {
    case 'latency':
      return latency
    case 'throughput':
      return hops === 0 ? 0 : secondsPerGb(metrics.bottleneckBps)
    case 'cost':
      return metrics.costPerGb
  }
}

/** The throughput objective's cost of a path with this bottleneck (unknown counts as 1 B/s). */
export function secondsPerGb(bottleneckBps: number): number {
  return BYTES_PER_GB / Math.max(bottleneckBps, 1)
}

/** Metrics and latency weight of a walk over these links. */
export function measureLinks(links: readonly GraphLink[]): { metrics: PathMetrics; latency: number } {
  let rttMs = 0
  let bottleneckBps = Number.POSITIVE_INFINITY
  let delivered = 1
  let costPerGb = 0
  let latency = 0
  for (const link of links) {
    rttMs += link.rttMs
    bottleneckBps = Math.min(bottleneckBps, link.throughputBps)
    delivered *= 1 - link.loss
    costPerGb += link.costPerGb
    latency += latencyWeight(link)
  }
  if (links.length === 0) bottleneckBps = 0
  return { metrics: { rttMs, bottleneckBps, loss: 1 - delivered, costPerGb }, latency }
}

/** A path's identity: its node sequence. */
export function pathKey(nodes: readonly string[]): string {
  return nodes.join('\u0000')
}
