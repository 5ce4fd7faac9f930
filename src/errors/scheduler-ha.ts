import { DynproxyError } from './base.ts'

function reasonOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause)
}

/**
 * etcd refused or did not answer a read or write in time: no quorum, every endpoint down, or a
 * network cut. Nothing was changed by this call as far as the scheduler knows.
 */
export class SchedulerStoreUnavailableError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_STORE_UNAVAILABLE'
  constructor(operation: string, endpoints: readonly string[], cause: unknown) {
    super(
      `etcd store unavailable for ${operation} (endpoints ${endpoints.join(', ')}): ${reasonOf(cause)} ` +
        '(hint: a majority of etcd members must be up and reachable; nodes keep their current sets meanwhile, retry once etcd has quorum)',
      { cause },
    )
  }
}

/** A value under the etcd prefix does not have the shape this scheduler writes. */
export class SchedulerStoreRecordError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_STORE_RECORD'
  constructor(key: string, reason: string) {
    super(
      `unexpected value at etcd key ${key}: ${reason} ` +
        '(hint: another program or a newer dynproxy writes under this prefix: give each deployment its own store.prefix)',
    )
  }
}
