/**
 * A flow's part in the socket layer's relay (socket/relay.ts): the splice of its two connections,
 * whose one `finished` call gives the flow its close reason (downstream_closed, upstream_reset,
 * idle_timeout, …) and hands it to FlowManager once. The relay's handlers are shared, its hooks
 * one object for every flow: a flow costs no closures.
 *
 * Before the splice the flow is its downstream connection's origin (flow.ts): a client that leaves
 * then ends it at once. The endings here (an abort, a refusal, a refusal answered first) close the
 * connections; the flow is finished when the downstream's close reaches it.
 */
import type { Connection } from '../socket/connection.ts'
import { type Relay, type RelayHooks, relay } from '../socket/relay.ts'
import type { CloseReason, Flow } from './flow.ts'

const FLOW_RELAY: RelayHooks<Flow> = {
  finished(done: Relay<Flow>) {
    const flow = done.owner
    flow.setReason(done.outcome)
    flow.finish()
  },
}

/** From accept on: the flow's idleness is watched (every byte of it passes its downstream). */
export function watchDownstream(flow: Flow): void {
  const sweep = flow.listener.idleSweep
  if (sweep !== undefined) flow.downstream.watchIdle(sweep)
}

/** The upstream is connected: splice the two connections together. */
export function startRelay(flow: Flow, upstream: Connection): void {
  flow.upstream = upstream
  flow.state = 'established'
  flow.relay = relay(flow.downstream, upstream, FLOW_RELAY, flow)
}

/** Ends a flow now, whatever its state: its connections are closed, what waits unsent dropped. */
export function abortFlow(flow: Flow, reason: CloseReason): void {
  flow.setReason(reason)
  flow.state = 'closing'
  if (flow.relay !== undefined) flow.relay.close()
  else flow.downstream.closeNow()
}

/** The flow ended before it had an upstream (no route, no upstream reachable). */
export function endBeforeUpstream(flow: Flow, reason: CloseReason): void {
  flow.setReason(reason)
  flow.downstream.closeNow()
}

/**
 * The flow ended before it had an upstream, after an answer was written to the client (a
 * connect-proxy refusal): the answer goes out, then the connection closes.
 */
export function endAfterReply(flow: Flow, reason: CloseReason): void {
  flow.setReason(reason)
  const down = flow.downstream
  down.close()
  // A client that never reads its answer must not hold the connection: it gets a moment, no more.
  if (!down.closed) setTimeout(closeNow, REPLY_LINGER_MS, down).unref()
}

/** How long a refused client is given to read its answer. */
export const REPLY_LINGER_MS = 2_000

function closeNow(conn: Connection): void {
  conn.closeNow()
}
