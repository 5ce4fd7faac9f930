import type { AccessLogLine } from '../flow/access-log.ts'

export interface UdpSessionEnd {
  readonly listener: string
  readonly source: string
  readonly route: string
  readonly target: string
  readonly bytesIn: number
  readonly bytesOut: number
  readonly durationMs: number
  readonly reason: 'idle_timeout' | 'upstream_error' | 'closed'
  readonly error?: string
}

/** A UDP session's line: the same fields, with `udp:<client address>` where a flow has its id. */
export function udpAccessLogLine(end: UdpSessionEnd): AccessLogLine & { readonly protocol: 'udp' } {
  return {
    flow: `udp:${end.source}`,
    protocol: 'udp',
    listener: end.listener,
    source: end.source,
    route: end.route,
    target: end.target,
    bytes_in: end.bytesIn,
    bytes_out: end.bytesOut,
    duration_ms: end.durationMs,
    reason: end.reason,
    ...(end.error !== undefined && { error: end.error }),
  }
}
