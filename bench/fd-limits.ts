import type { FdLimits } from './sys/procfs.ts'

export const IDLE_CONNECTIONS_WANTED = 10_000
/** Fds a process needs beyond its proxied connections (stdio, listeners, pollers, libraries). */
export const OVERHEAD_FDS = 256
/** What the harness asks `ulimit -n` for on servers: two fds per idle flow plus headroom. */
export const FD_LIMIT_WANTED = 2 * IDLE_CONNECTIONS_WANTED + 2 * OVERHEAD_FDS

export interface FdPlan {
  readonly idleConnections: number
  /** Why idleConnections is below the wanted count, when it is. */
  readonly note?: string
}

/**
 * A proxy holds two fds per idle flow and the harness one, so N is bounded by the limit servers
 * actually get (`childFdLimit`, probed) and by the harness's own limit, which Node cannot raise.
 */
export function planFdLimits(own: FdLimits, childFdLimit: number, wanted = IDLE_CONNECTIONS_WANTED): FdPlan {
  const byChild = Math.floor((childFdLimit - OVERHEAD_FDS) / 2)
  const byHarness = own.soft - OVERHEAD_FDS
  const idleConnections = Math.max(0, Math.min(wanted, byChild, byHarness))
  if (idleConnections === wanted) return { idleConnections }
  const bound =
    byHarness < byChild
      ? `the harness's ulimit -n is ${own.soft}`
      : `servers get at most ulimit -n ${childFdLimit}, two fds per proxied connection`
  return {
    idleConnections,
    note: `idle connections lowered from ${wanted} to ${idleConnections}: ${bound} (hint: raise the hard limit to ${2 * wanted + 2 * OVERHEAD_FDS}, e.g. ulimit -Hn, or run with CAP_SYS_RESOURCE)`,
  }
}
