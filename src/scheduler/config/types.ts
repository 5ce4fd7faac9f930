/** The scheduler's config as its code uses it: camelCase, milliseconds, parsed addresses. */
import type { HostPort, LogLevel } from '../../config/types.ts'
import type { Objective } from '../paths/types.ts'
import type { ServiceDocument } from './schema.ts'

export interface HysteresisSettings {
  /** A candidate must be better by this ratio of the current path's cost (0.1 = 10 %)... */
  readonly relative: number
  /** ...and by at least this much in the objective's unit (ms for latency). */
  readonly absolute: number
  /** The current path is kept at least this long before a switch. */
  readonly minDwellMs: number
}

export interface LinkCost {
  readonly fromRegion: string
  readonly toRegion: string
  readonly perGb: number
}

export type StoreSettings = { readonly type: 'embedded'; readonly path: string } | EtcdStoreSettings

export interface EtcdStoreSettings {
  readonly type: 'etcd'
  readonly endpoints: readonly string[]
  /** Without a trailing "/": keys are `${prefix}/services/web`. */
  readonly prefix: string
  /** Whole seconds: etcd leases count in seconds. */
  readonly electionTtlSeconds: number
  readonly requestTimeoutMs: number
  /** Client TLS to etcd: PEM file paths. */
  readonly tls?: { readonly caFile: string; readonly certFile: string; readonly keyFile: string }
}

export interface SchedulerSettings {
  readonly id: string
  readonly listen: HostPort
  /** Plaintext gRPC without node certificates; the config allows it on loopback only. */
  readonly insecure: boolean
  /** A CA of the operator's to issue node certificates with; absent: the store's own. */
  readonly ca?: { readonly certFile: string; readonly keyFile: string }
  readonly nodeCertValidityMs: number
  /** Disconnected nodes are dropped from the registry after this long. */
  readonly forgetAfterMs: number
  /** Per source address: connections open at once, and streams open at once. */
  readonly maxStreamsPerAddress: number
  readonly api: HostPort
  /** The REST API's operator token (reads and changes); absent: one is made under `stateDir`. */
  readonly apiToken?: string
  /** scheduler.console_url: where operators open the console, when the api address is not what they use. */
  readonly consoleUrl?: string
  /** The REST API's viewer token: reads only. */
  readonly apiViewerToken?: string
  /** Host names clients may address the REST API by, beyond loopback names and IP literals; lowercase. */
  readonly apiHosts: readonly string[]
  readonly stateDir: string
  readonly store: StoreSettings
  readonly instructionTtlMs: number
  /** Path tokens outlive the set that carried them, so cached paths keep working without a scheduler. */
  readonly pathTokenTtlMs: number
  readonly heartbeatIntervalMs: number
  readonly reportIntervalMs: number
  readonly pushDebounceMs: number
  /** Away this long, a node counts as gone: only then do its paths go for want of it (plan/knowledge.ts). */
  readonly nodeGraceMs: number
  /** Automatic capacity probes (plan/probes.ts); an interval of 0 turns them off. */
  readonly capacityProbe: { readonly intervalMs: number; readonly spacingMs: number }
  readonly hysteresis: HysteresisSettings
  readonly linkCosts: readonly LinkCost[]
  readonly logLevel: LogLevel
  readonly logFile?: string
}

export type IngressPoint =
  | { readonly node: string; readonly listener: string }
  | { readonly node: string; readonly port: number }

export interface ServiceTarget {
  readonly address: string
  readonly weight: number
}

export type MultipathMode = 'stripe' | 'redundant' | 'failover'

export interface ServiceSpec {
  readonly name: string
  readonly ingress: readonly IngressPoint[]
  readonly egress: readonly string[]
  readonly targets: readonly ServiceTarget[]
  readonly objective: Objective
  readonly constraints: {
    readonly avoidRegions: readonly string[]
    readonly requireRegions: readonly string[]
    readonly maxHops?: number
  }
  readonly alternatives: number
  readonly multipath?: { readonly mode: MultipathMode; readonly paths: number }
}

export interface SchedulerConfig {
  readonly scheduler: SchedulerSettings
  /** In the file's own shape: the store keeps services as written, so GET and PUT round-trip. */
  readonly services: readonly ServiceDocument[]
}
