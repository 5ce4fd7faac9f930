/**
 * FramedSession options: defaults with their reasons, and validation. Production defaults suit
 * WAN paths; tests pass short timeouts.
 */

import { performance } from 'node:perf_hooks'
import type { Duplex } from 'node:stream'
import { MultipathOptionError } from '../errors/multipath.ts'
import type { Clock } from '../util/clock.ts'
import { MULTIPATH_MODES, type MultipathMode } from './chunk-picker.ts'
import { MAX_PAYLOAD_BYTES } from './frame.ts'

export interface MultipathTimers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export const systemTimers: MultipathTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/** RTTs and rates need sub-millisecond, monotonic time. */
export const monotonicClock: Clock = { now: () => performance.now() }

/**
 * The credit every sender may use before the receiver's first ACK arrives, so the first bytes
 * leave without waiting a round trip. Every receiver accepts at least this much
 * (maxReorderBytes ≥ it).
 */
export const INITIAL_CREDIT_BYTES = 256 * 1024

export interface FramedSessionOptions {
  /**
   * The plain side: the client socket at the ingress, the target socket at the egress. It must
   * allow half-open connections (`allowHalfOpen: true`), or its FIN would end the reply direction.
   */
  readonly local: Duplex
  /**
   * Bytes the far end receives ahead of everything read from `local` (a PROXY protocol header):
   * they go even when `local` has already sent its FIN.
   */
  readonly prefix?: Buffer
  readonly mode?: MultipathMode
  /** The Traffic Scheduler's path weights by subflow index: the scheduler's prior before it measures. */
  readonly weights?: readonly number[]
  /** Bytes received beyond what the local side has taken: reorder buffer plus local write queue. */
  readonly maxReorderBytes?: number
  /** Bytes read from the local side and not yet acknowledged; reading pauses at this. */
  readonly maxUnackedBytes?: number
  /** A subflow whose socket buffers this much takes no more chunks until it drains. */
  readonly subflowWriteBudgetBytes?: number
  readonly pingIntervalMs?: number
  /** A subflow that receives nothing for this long is dropped. */
  readonly subflowTimeoutMs?: number
  /** How long the session waits for a subflow when it has none before it fails. */
  readonly graceMs?: number
  /** After the session ends, how long subflows may take to close before they are destroyed. */
  readonly lingerMs?: number
  /** A gap without progress at least this long counts as a stall. */
  readonly stallThresholdMs?: number
  readonly clock?: Clock
  readonly timers?: MultipathTimers
}

export type ResolvedOptions = Required<Omit<FramedSessionOptions, 'weights' | 'prefix'>> & {
  readonly weights: readonly number[]
}

const DEFAULTS = {
  mode: 'stripe',
  /** 4 MiB: a 50 ms path at 80 MB/s, or reordering over paths 200 ms apart at 20 MB/s. */
  maxReorderBytes: 4 * 1024 * 1024,
  maxUnackedBytes: 4 * 1024 * 1024,
  /** 256 KiB: enough to keep a socket busy, little enough that the scheduler's choice stays fresh. */
  subflowWriteBudgetBytes: 256 * 1024,
  /** 1 s: the mesh control channel's probe interval. */
  pingIntervalMs: 1_000,
  /** 5 missed pings. */
  subflowTimeoutMs: 5_000,
  /** Room for the ingress to open a replacement path. */
  graceMs: 5_000,
  lingerMs: 5_000,
  stallThresholdMs: 200,
} as const

export function resolveOptions(o: FramedSessionOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    local: o.local,
    mode: o.mode ?? DEFAULTS.mode,
    weights: o.weights ?? [],
    maxReorderBytes: o.maxReorderBytes ?? DEFAULTS.maxReorderBytes,
    maxUnackedBytes: o.maxUnackedBytes ?? DEFAULTS.maxUnackedBytes,
    subflowWriteBudgetBytes: o.subflowWriteBudgetBytes ?? DEFAULTS.subflowWriteBudgetBytes,
    pingIntervalMs: o.pingIntervalMs ?? DEFAULTS.pingIntervalMs,
    subflowTimeoutMs: o.subflowTimeoutMs ?? DEFAULTS.subflowTimeoutMs,
    graceMs: o.graceMs ?? DEFAULTS.graceMs,
    lingerMs: o.lingerMs ?? DEFAULTS.lingerMs,
    stallThresholdMs: o.stallThresholdMs ?? DEFAULTS.stallThresholdMs,
    clock: o.clock ?? monotonicClock,
    timers: o.timers ?? systemTimers,
  }
  if (!MULTIPATH_MODES.includes(r.mode)) {
    throw new MultipathOptionError('mode', r.mode, MULTIPATH_MODES.join(', '))
  }
  atLeast('maxReorderBytes', r.maxReorderBytes, INITIAL_CREDIT_BYTES)
  atLeast('maxUnackedBytes', r.maxUnackedBytes, MAX_PAYLOAD_BYTES)
  atLeast('subflowWriteBudgetBytes', r.subflowWriteBudgetBytes, 1)
  for (const key of ['pingIntervalMs', 'graceMs', 'lingerMs', 'stallThresholdMs'] as const) {
    atLeast(key, r[key], 1)
  }
  atLeast('subflowTimeoutMs', r.subflowTimeoutMs, r.pingIntervalMs * 2)
  r.weights.forEach((w, i) => {
    if (!Number.isFinite(w) || w < 0) throw new MultipathOptionError(`weights[${i}]`, w, 'a number ≥ 0')
  })
  return r
}

function atLeast(option: string, value: number, min: number): void {
  if (!Number.isFinite(value) || value < min) {
    throw new MultipathOptionError(option, value, `a number ≥ ${min}`)
  }
}
