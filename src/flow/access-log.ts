import type { Flow } from './flow.ts'

/** The fields of the access-log line written for every closed flow. */
export interface AccessLogLine {
  readonly flow: string
  readonly listener: string
  readonly source: string
  readonly route: string | undefined
  readonly target: string | undefined
  readonly bytes_in: number
  readonly bytes_out: number
  readonly duration_ms: number
  readonly reason: string | undefined
  readonly error?: string
  /** Flows from a `proxy_protocol` listener: the load balancer that connected; `source` is its client. */
  readonly proxied_by?: string
  /** The TLS server name the client asked for, when its listener reads or terminates TLS. */
  readonly sni?: string
  /** Flows of a `handshake` listener: the destination the client asked for. */
  readonly destination?: string
}

export function accessLogLine(flow: Flow, durationMs: number): AccessLogLine {
  const down = flow.downstream
  const line: AccessLogLine = {
    flow: flow.id,
    listener: flow.listener.name,
    source: flow.source,
    route: flow.route,
    target: flow.target,
    bytes_in: flow.bytesIn,
    bytes_out: flow.bytesOut,
    duration_ms: durationMs,
    reason: flow.closeReason,
    ...(flow.serverName !== undefined && { sni: flow.serverName }),
    ...(flow.destination !== undefined && { destination: flow.destination }),
  }
  const proxied =
    flow.proxied === undefined ? line : { ...line, proxied_by: `${down.remoteAddress}:${down.remotePort}` }
  return flow.error ? { ...proxied, error: flow.error.message } : proxied
}
