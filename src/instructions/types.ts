/**
 * Scheduler instructions as the node's code sees them: plain, validated domain values. The proto
 * types of src/gen stay at the edge (scheduler-client converts them, instructions validates them).
 */
import type { RouteMatch } from '../config/types.ts'

/** Orders instruction sets: epoch first (grows with each scheduler start), then counter. */
export interface InstructionVersion {
  readonly epoch: number
  readonly counter: number
}

export type MultipathMode = 'stripe' | 'redundant' | 'failover'

export interface InstructionTarget {
  /** `host:port` */
  readonly address: string
  readonly weight: number
}

export interface InstructionPath {
  /** Peers to traverse after this node, in order; empty: connect to the targets directly. */
  readonly hops: readonly string[]
  readonly targets: readonly InstructionTarget[]
  readonly weight: number
  /** Signed by the scheduler; sent along so relays can check the path was issued. */
  readonly token?: Buffer
}

export interface InstructionRoute {
  readonly name: string
  readonly match: RouteMatch
  /** In preference order: the first is the scheduler's choice, the rest are alternatives. */
  readonly paths: readonly InstructionPath[]
  /** Absent: one path per flow. */
  readonly multipath?: MultipathMode
  readonly service?: string
}

export interface InstructionSet {
  readonly version: InstructionVersion
  readonly nonce: string
  readonly ttlMs: number
  readonly reportIntervalMs: number
  readonly routes: readonly InstructionRoute[]
  /** Base64 Ed25519 public key (raw 32 bytes) that path tokens are signed with. */
  readonly pathTokenKey?: string
}

/** A set as the node holds it: when it arrived decides whether it is fresh or stale. */
export interface AppliedInstructions {
  readonly set: InstructionSet
  /** Epoch ms when this node applied (or, from the cache, first applied) the set. */
  readonly appliedAt: number
}

export function compareVersions(a: InstructionVersion, b: InstructionVersion): number {
  return a.epoch !== b.epoch ? a.epoch - b.epoch : a.counter - b.counter
}

export function formatVersion(v: InstructionVersion): string {
  return `${v.epoch}.${v.counter}`
}
