/** Peers: control channels, probes, health, warm pools, and data-connection dialing. */
export * from './backoff.ts'
export * from './dial.ts'
export * from './health.ts'
export * from './manager.ts'
export * from './measure.ts'
export * from './tls.ts'
export type { WarmPoolStats } from './warm-pool.ts'
