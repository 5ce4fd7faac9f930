/**
 * Connecting to an endpoint: a TCP dial on the socket layer, bounded by a timeout, its failure
 * classified (`refused`, `timeout`, …) for outlier detection and for the replies of SOCKS and HTTP
 * CONNECT clients. The connection handed over has no owner yet: what the endpoint sends first is
 * held for whoever takes it.
 */
import { connect } from '../socket/connect.ts'
import type { Connection } from '../socket/connection.ts'
import { type ConnectFailureReason, classifyConnectError, failureReasonOf } from '../socket/dial-failure.ts'

export type { ConnectFailureReason }
export { classifyConnectError, failureReasonOf }

/**
 * A dial as a promise, for callers off the accept path (health checks, the mesh egress, a
 * handshake listener's destination). Rejects with UpstreamConnectError, UpstreamConnectTimeoutError
 * or SocketDialCapError, each with its `reason`.
 */
export function connectTcp(host: string, port: number, timeoutMs: number): Promise<Connection> {
  return connect(host, port, { timeoutMs })
}
