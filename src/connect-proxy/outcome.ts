/**
 * How a connect-proxy client learns the fate of its request: one outcome, written as a SOCKS5
 * reply code or an HTTP status. Pure.
 */
import {
  type ConnectFailureReason,
  ConnectProxyNotAllowedError,
  MeshPathRefusedError,
  MeshPathsUnavailableError,
  UpstreamConnectError,
  UpstreamConnectTimeoutError,
  UpstreamUnavailableError,
} from '../errors/index.ts'
import type { HttpConnectStatus } from './http-connect.ts'
import { SOCKS_REPLY, type SocksReplyCode } from './socks5.ts'

export type ConnectOutcome =
  | 'ok'
  | 'not_allowed'
  | 'network_unreachable'
  | 'host_unreachable'
  | 'refused'
  | 'timeout'
  | 'failed'

export const SOCKS_REPLY_OF: Readonly<Record<ConnectOutcome, SocksReplyCode>> = {
  ok: SOCKS_REPLY.succeeded,
  not_allowed: SOCKS_REPLY.notAllowed,
  network_unreachable: SOCKS_REPLY.networkUnreachable,
  host_unreachable: SOCKS_REPLY.hostUnreachable,
  refused: SOCKS_REPLY.connectionRefused,
  timeout: SOCKS_REPLY.hostUnreachable,
  failed: SOCKS_REPLY.generalFailure,
}

export const HTTP_STATUS_OF: Readonly<Record<ConnectOutcome, HttpConnectStatus>> = {
  ok: 200,
  not_allowed: 403,
  network_unreachable: 502,
  host_unreachable: 502,
  refused: 502,
  timeout: 504,
  failed: 502,
}

const BY_REASON: Readonly<Record<ConnectFailureReason, ConnectOutcome>> = {
  refused: 'refused',
  timeout: 'timeout',
  unreachable: 'network_unreachable',
  dns: 'host_unreachable',
  reset: 'failed',
  other: 'failed',
}

/** The outcome a failed route connect is answered with: the last attempt's reason decides. */
export function failureOutcome(error: Error): ConnectOutcome {
  if (error instanceof ConnectProxyNotAllowedError) return 'not_allowed'
  if (error instanceof UpstreamUnavailableError) {
    const last = error.attempts.at(-1)
    return last === undefined ? 'failed' : BY_REASON[last.reason]
  }
  if (error instanceof UpstreamConnectError || error instanceof UpstreamConnectTimeoutError) {
    return BY_REASON[error.reason]
  }
  if (error instanceof MeshPathRefusedError || error instanceof MeshPathsUnavailableError) {
    if (error.status === 'target_not_allowed') return 'not_allowed'
    return error.status === 'target_unreachable' ? 'host_unreachable' : 'failed'
  }
  return 'failed'
}
