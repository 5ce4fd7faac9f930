/**
 * Moves bytes between a flow's two sockets: `pipe` in each direction, so the kernel-facing
 * streams do the copying and backpressure with no JavaScript per chunk; a FIN on one side ends
 * the other side's writing (half-close), and the flow ends once both sockets have closed.
 *
 * Event handlers are shared functions that find their flow through a symbol on the socket,
 * so a flow costs no closures.
 */
import type { Socket } from 'node:net'
import type { CloseReason, Flow } from './flow.ts'

const kFlow = Symbol('dynproxy.flow')

type FlowSocket = Socket & { [kFlow]?: Flow }

export interface FlowSink {
  /** Called once per flow, after both its sockets have closed (or the flow ended before upstream). */
  finished(flow: Flow): void
}

const kSink = Symbol('dynproxy.flowSink')
type SinkedFlow = Flow & { [kSink]?: FlowSink }

/** From accept on: notice the client leaving, and time out idleness. */
export function watchDownstream(flow: Flow, sink: FlowSink): void {
  ;(flow as SinkedFlow)[kSink] = sink
  const down = flow.downstream as FlowSocket
  down[kFlow] = flow
  down.on('error', onDownstreamError)
  down.on('end', onDownstreamEnd)
  down.on('close', onSocketClose)
  if (flow.listener.idleTimeoutMs > 0) {
    // Every byte of the flow is read from or written to the downstream socket, so its inactivity
    // timer alone measures the flow's idleness in both directions.
    down.setTimeout(flow.listener.idleTimeoutMs)
    down.on('timeout', onIdleTimeout)
  }
}

/** The upstream is connected: splice the two sockets together. */
export function startRelay(flow: Flow, upstream: Socket): void {
  const up = upstream as FlowSocket
  up[kFlow] = flow
  flow.upstream = up
  flow.openSockets++
  flow.state = 'established'
  up.on('error', onUpstreamError)
  up.on('end', onUpstreamEnd)
  up.on('close', onSocketClose)
  flow.downstream.pipe(up)
  up.pipe(flow.downstream)
}

/** Ends a flow now, whatever its state: destroys both sockets. */
export function abortFlow(flow: Flow, reason: CloseReason): void {
  setReason(flow, reason)
  flow.state = 'closing'
  flow.upstream?.destroy()
  flow.downstream.destroy()
}

/** The flow ended before it had an upstream socket (no route, no upstream reachable). */
export function endBeforeUpstream(flow: Flow, reason: CloseReason): void {
  setReason(flow, reason)
  flow.downstream.destroy()
}

function setReason(flow: Flow, reason: CloseReason): void {
  if (flow.closeReason === undefined) flow.closeReason = reason
}

function flowOf(socket: FlowSocket): Flow {
  return socket[kFlow] as Flow
}

// A reset on one side is passed on as a reset: the other peer must not mistake it for an orderly end.
function onDownstreamError(this: FlowSocket): void {
  const flow = flowOf(this)
  setReason(flow, 'downstream_reset')
  resetSocket(flow.upstream)
}

function onUpstreamError(this: FlowSocket): void {
  const flow = flowOf(this)
  setReason(flow, 'upstream_reset')
  resetSocket(flow.downstream)
}

function resetSocket(socket: Socket | undefined): void {
  if (socket === undefined || socket.destroyed) return
  socket.resetAndDestroy()
}

function onDownstreamEnd(this: FlowSocket): void {
  const flow = flowOf(this)
  flow.firstEnd ??= 'downstream'
}

function onUpstreamEnd(this: FlowSocket): void {
  const flow = flowOf(this)
  flow.firstEnd ??= 'upstream'
  if (flow.state === 'established') flow.state = 'closing'
}

function onIdleTimeout(this: FlowSocket): void {
  abortFlow(flowOf(this), 'idle_timeout')
}

function onSocketClose(this: FlowSocket): void {
  const flow = flowOf(this)
  flow.openSockets--
  if (flow.openSockets > 0) {
    // One side is gone for good; the other cannot finish an orderly exchange without it once
    // its own writing is done, but must not be cut before: only force it when this side errored.
    if (this.errored) (this === flow.downstream ? flow.upstream : flow.downstream)?.destroy()
    return
  }
  if (flow.state === 'connecting' || flow.state === 'routing') {
    setReason(flow, 'aborted')
  }
  setReason(flow, flow.firstEnd === 'upstream' ? 'upstream_closed' : 'downstream_closed')
  flow.state = 'closed'
  ;(flow as SinkedFlow)[kSink]?.finished(flow)
}
