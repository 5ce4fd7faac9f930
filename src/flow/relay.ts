/**
 * Moves bytes between a flow's two sockets: each socket's 'data' is written to the other, a
 * write the other cannot take at once pauses the reader until 'drain' (backpressure: memory per
 * flow stays bounded by the streams' high-water marks), and a FIN on one side ends the other
 * side's writing (half-close). The flow ends once both sockets have closed.
 *
 * This is what `pipe` does, without its per-flow closures: every handler here is a shared module
 * function that finds its flow through a symbol on the socket, so a flow costs no closures, and an
 * idle flow holds nothing but its two sockets and its Flow object.
 */
import type { Socket } from 'node:net'
import { resetConnection } from '../util/tcp-socket.ts'
import type { CloseReason, Flow } from './flow.ts'

const kFlow = Symbol('dynproxy.flow')

type FlowSocket = Socket & { [kFlow]?: Flow }

/** From accept on: notice the client leaving, and time out idleness. */
export function watchDownstream(flow: Flow): void {
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
  copy(flow.downstream, up)
  copy(up, flow.downstream)
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

/**
 * The flow ended before it had an upstream, after an answer was written to the client (a
 * connect-proxy refusal): the socket is ended so the answer is flushed, then destroyed.
 */
export function endAfterReply(flow: Flow, reason: CloseReason): void {
  setReason(flow, reason)
  const down = flow.downstream
  if (!down.writable) return void down.destroy()
  // A client that never reads its answer must not hold the socket: it gets a moment, no more.
  const linger = setTimeout(() => down.destroy(), REPLY_LINGER_MS)
  linger.unref()
  down.end(() => {
    clearTimeout(linger)
    down.destroy()
  })
}

/** How long a refused client is given to read its answer. */
export const REPLY_LINGER_MS = 2_000

/**
 * Starts copying `from` into `to`. `from` may have been paused by whoever read a header off it,
 * or have seen its FIN already (with nothing left to read): both happen before a flow is spliced.
 */
function copy(from: Socket, to: Socket): void {
  to.on('drain', onDrain)
  from.on('data', onData)
  if (from.readableEnded) to.end()
  else if (to.writableNeedDrain) from.pause()
  else from.resume()
}

function setReason(flow: Flow, reason: CloseReason): void {
  if (flow.closeReason === undefined) flow.closeReason = reason
}

function flowOf(socket: FlowSocket): Flow {
  return socket[kFlow] as Flow
}

/** The flow's other socket; only called on a spliced flow, which has both. */
function peerOf(socket: FlowSocket): Socket {
  const flow = flowOf(socket)
  return socket === flow.downstream ? (flow.upstream as Socket) : flow.downstream
}

function onData(this: FlowSocket, chunk: Buffer): void {
  if (!peerOf(this).write(chunk)) this.pause()
}

function onDrain(this: FlowSocket): void {
  peerOf(this).resume()
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
  if (socket !== undefined) resetConnection(socket)
}

function onDownstreamEnd(this: FlowSocket): void {
  const flow = flowOf(this)
  flow.firstEnd ??= 'downstream'
  // Before the splice there is no upstream yet: copy() passes the FIN on when it starts.
  flow.upstream?.end()
}

function onUpstreamEnd(this: FlowSocket): void {
  const flow = flowOf(this)
  flow.firstEnd ??= 'upstream'
  if (flow.state === 'established') flow.state = 'closing'
  flow.downstream.end()
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
  flow.sink.finished(flow)
}
