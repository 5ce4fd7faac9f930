import { DynproxyError } from './base.ts'

/** Why one connect attempt to an endpoint failed; stats and the unavailable message use these words. */
export type ConnectFailureReason = 'refused' | 'timeout' | 'unreachable' | 'dns' | 'reset' | 'other'

const HINTS: Readonly<Record<ConnectFailureReason, string>> = {
  refused: 'is the endpoint listening on that port?',
  timeout: 'is it reachable from this node, or is a firewall dropping packets?',
  unreachable: 'does this node have a route to that network?',
  dns: 'does the host name resolve from this node?',
  reset: 'the endpoint or something in between reset the connection',
  other: 'see the cause for the system error',
}

/** A single connect attempt failed for a reason other than the timeout; the errno error is the cause. */
export class UpstreamConnectError extends DynproxyError {
  override readonly code = 'DYN_ERR_UPSTREAM_CONNECT_FAILED'
  readonly reason: ConnectFailureReason
  readonly target: string
  constructor(target: string, reason: ConnectFailureReason, errno: string, options?: ErrorOptions) {
    super(`upstream connect to ${target} failed: ${reason} (${errno}) (hint: ${HINTS[reason]})`, options)
    this.reason = reason
    this.target = target
  }
}

export class UpstreamConnectTimeoutError extends DynproxyError {
  override readonly code = 'DYN_ERR_UPSTREAM_CONNECT_TIMEOUT'
  readonly reason: ConnectFailureReason = 'timeout'
  readonly target: string
  constructor(target: string, timeoutMs: number, options?: ErrorOptions) {
    super(`upstream connect to ${target} timed out after ${timeoutMs}ms (hint: ${HINTS.timeout})`, options)
    this.target = target
  }
}

export interface UpstreamAttempt {
  readonly endpoint: string
  readonly reason: ConnectFailureReason
}

/** Every attempt a flow was allowed failed, or no endpoint could be tried at all. */
export class UpstreamUnavailableError extends DynproxyError {
  override readonly code = 'DYN_ERR_UPSTREAM_UNAVAILABLE'
  readonly route: string
  readonly attempts: readonly UpstreamAttempt[]
  constructor(route: string, attempts: readonly UpstreamAttempt[], options?: ErrorOptions) {
    super(unavailableMessage(route, attempts), options)
    this.route = route
    this.attempts = attempts
  }
}

function unavailableMessage(route: string, attempts: readonly UpstreamAttempt[]): string {
  const head = `route "${route}": no upstream reachable after ${attempts.length} attempts`
  if (attempts.length === 0) return `${head} (hint: every endpoint has weight 0; give one a weight above 0)`
  return `${head}: ${attempts.map((a) => `${a.endpoint} ${a.reason}`).join(', ')}`
}

/** A cluster is built only for routes whose flows connect to endpoints directly. */
export class UpstreamTargetKindError extends DynproxyError {
  override readonly code = 'DYN_ERR_UPSTREAM_TARGET_KIND'
  constructor(route: string, kind: string) {
    super(
      `route "${route}": target kind "${kind}" has no endpoints to connect to directly (hint: routes through peers are connected by the mesh, not by an upstream cluster)`,
    )
  }
}

/** Endpoints are keyed by address in stats, health and release(); two alike would be confused. */
export class UpstreamDuplicateEndpointError extends DynproxyError {
  override readonly code = 'DYN_ERR_UPSTREAM_DUPLICATE_ENDPOINT'
  constructor(route: string, address: string) {
    super(
      `route "${route}": endpoint ${address} is listed twice (hint: list each address once and use weight)`,
    )
  }
}
