/** A flow as plugins see it: plain data, so that a plugin holds no socket and no node internals. */

import { PluginRefusalError } from '../errors/index.ts'
import type { Flow } from '../flow/index.ts'
import type { PluginHooks } from './hooks.ts'
import type { AcceptedFlow, EndedFlow } from './types.ts'

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

/** The plugins' say on a new flow, as the flow pipeline asks it: an error refuses the flow. */
export function pluginAdmitter(
  onAccept: NonNullable<PluginHooks['onAccept']>,
): (flow: Flow, listener: { readonly name: string; readonly port: number }) => Error | undefined {
  return (flow, listener) => {
    const verdict = onAccept(acceptedFlow(flow, listener))
    return verdict && new PluginRefusalError(verdict.reject)
  }
}

/** The plugins' onEnd, as flow accounting calls it once a flow has ended. */
export function pluginEndNotifier(
  onEnd: NonNullable<PluginHooks['onEnd']>,
): (flow: Flow, durationMs: number) => void {
  return (flow, durationMs) => onEnd(endedFlow(flow, durationMs))
}
