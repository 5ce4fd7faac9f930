export { type BackoffPolicy, DEFAULT_RETRY_CAP_MS, isDegraded, reconnectDelayMs } from './backoff.ts'
export { SchedulerClient } from './client.ts'
export type * from './types.ts'
