/**
 * What a node's primary and its worker processes say to each other over the IPC channel
 * (structured clone). The primary holds the scheduler session and the admin API; workers hold the
 * listeners, the mesh port and every flow.
 */
import type { NodeConfig } from '../config/types.ts'
import type { InstructionRoute } from '../instructions/types.ts'
import type { ReplayVerdict } from '../mesh/security/replay-cache.ts'
import type { FlowDurations } from '../metrics/metrics.ts'
import type {
  FlowInfo,
  LinkProbeResult,
  ListenerStatus,
  NodeStats,
  PeerStatus,
  RouteStatus,
} from '../views/node-view.ts'

/** Ports as the first worker bound them: every later worker binds the same ones. */
export interface BoundPorts {
  readonly listeners: Readonly<Record<string, number>>
  readonly mesh?: number
}

export interface WorkerSnapshot {
  readonly stats: NodeStats
  readonly listeners: readonly ListenerStatus[]
  readonly routes: readonly RouteStatus[]
  readonly peers: readonly PeerStatus[]
  readonly flowDurations: FlowDurations
}

export type ToWorker =
  | { readonly type: 'start'; readonly config: NodeConfig; readonly index: number }
  | {
      readonly type: 'instructions'
      readonly routes: readonly InstructionRoute[]
      readonly pathTokenKey: string | undefined
      readonly fresh: boolean
    }
  | { readonly type: 'fresh'; readonly fresh: boolean }
  | { readonly type: 'drain'; readonly cutAfterMs?: number }
  | { readonly type: 'undrain' }
  | { readonly type: 'close' }
  | { readonly type: 'snapshot'; readonly id: number }
  | { readonly type: 'flows'; readonly id: number }
  | { readonly type: 'resolved'; readonly id: number; readonly route: InstructionRoute | undefined }
  | { readonly type: 'reload'; readonly id: number; readonly config: NodeConfig }
  | { readonly type: 'probe'; readonly id: number; readonly peer: string }
  /** The verdicts on a batch of nonces, in order: the first is for question `firstId`. */
  | { readonly type: 'nonce-verdicts'; readonly firstId: number; readonly verdicts: readonly ReplayVerdict[] }

export type FromWorker =
  | { readonly type: 'started'; readonly bound: BoundPorts }
  | { readonly type: 'failed'; readonly code: string; readonly message: string }
  | { readonly type: 'snapshot'; readonly id: number; readonly snapshot: WorkerSnapshot }
  | { readonly type: 'flows'; readonly id: number; readonly flows: readonly FlowInfo[] }
  | {
      readonly type: 'reloaded'
      readonly id: number
      readonly bound: BoundPorts
      /** Messages of the listeners whose change did not apply. */
      readonly errors: readonly string[]
      /** The names of those listeners: they run as before the reload (or, if new, not at all). */
      readonly kept: readonly string[]
    }
  | {
      readonly type: 'probed'
      readonly id: number
      readonly result?: LinkProbeResult
      /** Why the probe failed: the error's code, and for DYN_ERR_MESH_PROBE its reason. */
      readonly error?: { readonly code: string; readonly why: string }
    }
  | {
      readonly type: 'resolve'
      readonly id: number
      readonly listener: string
      readonly port: number
      readonly sourceIp: string
    }
  /**
   * Whether mesh header nonces are new to the node (the primary holds the one replay cache): the
   * questions of one event-loop turn, numbered from `firstId`, hex, each with its expiry.
   */
  | {
      readonly type: 'remember-nonces'
      readonly firstId: number
      readonly nonces: readonly string[]
      readonly expiresAtMs: readonly number[]
    }

// Records, not lists: a message type added to the unions above must be added here to compile.
const FROM_WORKER_TYPES: Readonly<Record<FromWorker['type'], true>> = {
  started: true,
  failed: true,
  snapshot: true,
  flows: true,
  resolve: true,
  reloaded: true,
  probed: true,
  'remember-nonces': true,
}
const TO_WORKER_TYPES: Readonly<Record<ToWorker['type'], true>> = {
  start: true,
  instructions: true,
  fresh: true,
  drain: true,
  undrain: true,
  close: true,
  snapshot: true,
  flows: true,
  resolved: true,
  reload: true,
  probe: true,
  'nonce-verdicts': true,
}

function hasType(message: unknown, types: Readonly<Record<string, true>>): boolean {
  if (typeof message !== 'object' || message === null) return false
  const type = (message as { type?: unknown }).type
  return typeof type === 'string' && Object.hasOwn(types, type)
}

/** Both ends are this program; a message of another shape means a bug, dropped and logged, not trusted. */
export function isFromWorker(message: unknown): message is FromWorker {
  return hasType(message, FROM_WORKER_TYPES)
}

export function isToWorker(message: unknown): message is ToWorker {
  return hasType(message, TO_WORKER_TYPES)
}
