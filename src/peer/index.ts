/** Peers: a control channel to each, whose probes give the link's RTT, jitter, loss and up/down. */
export * from './backoff.ts'
export * from './health.ts'
export * from './manager.ts'
export * from './measure.ts'
