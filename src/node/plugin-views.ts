/** A flow as plugins see it: plain data, so that a plugin holds no socket and no node internals. */
import type { Flow } from '../flow/index.ts'
import type { AcceptedFlow, EndedFlow } from '../plugins/index.ts'

export function acceptedFlow(
  flow: Flow,
  listener: { readonly name: string; readonly port: number },
): AcceptedFlow {
  return {
    id: flow.id,
    listener: listener.name,
    localPort: listener.port,
    sourceIp: flow.sourceIp,
    sourcePort: flow.proxied?.sourcePort ?? flow.downstream.remotePort ?? 0,
  }
}

export function endedFlow(flow: Flow, durationMs: number): EndedFlow {
  return {
    id: flow.id,
    listener: flow.listener.name,
    sourceIp: flow.sourceIp,
    route: flow.route,
    target: flow.target,
    bytesIn: flow.bytesIn,
    bytesOut: flow.bytesOut,
    durationMs,
    reason: flow.closeReason,
  }
}
