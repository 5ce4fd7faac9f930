/**
 * What happens once a flow has ended, exactly once (FlowManager guarantees it): its listener's
 * counters and its route's totals take its bytes, the endpoint it borrowed is given back, its
 * duration is observed, and the access log and the plugins hear of it.
 */
import type { Logger } from '../log/logger.ts'
import type { SubflowStats } from '../multipath/subflow.ts'
import type { Clock } from '../util/clock.ts'
import { accessLogLine } from './access-log.ts'
import type { PathTraffic } from './connection.ts'
import type { Flow, FlowSink } from './flow.ts'

export interface FlowDurations {
  observeFlowDuration(listener: string, seconds: number): void
}

export class FlowAccounting implements FlowSink {
  readonly #clock: Clock
  readonly #durations: FlowDurations
  /** A reload that turns the access log on or off changes it for the flows ended after. */
  accessLog: Logger | undefined
  /** The plugins' onEnd, when a plugin has one. */
  onEnd: ((flow: Flow, durationMs: number) => void) | undefined

  constructor(clock: Clock, durations: FlowDurations, accessLog: Logger | undefined) {
    this.#clock = clock
    this.#durations = durations
    this.accessLog = accessLog
  }

  finished(flow: Flow): void {
    const counters = flow.listener.counters
    counters.active--
    counters.closedBytesIn += flow.bytesIn
    counters.closedBytesOut += flow.bytesOut
    if (flow.traffic !== undefined) {
      flow.traffic.bytesIn += flow.bytesIn
      flow.traffic.bytesOut += flow.bytesOut
      if (flow.closeReason === 'upstream_unavailable') flow.traffic.failures++
      if (flow.multipath !== undefined) addSubflowTotals(flow.traffic.paths, flow.multipath.subflows())
    }
    if (flow.lender !== undefined && flow.target !== undefined) flow.lender.release(flow.target)
    const durationMs = flow.durationMs(this.#clock.now())
    this.#durations.observeFlowDuration(flow.listener.name, durationMs / 1000)
    this.accessLog?.info(accessLogLine(flow, durationMs), 'flow closed')
    this.onEnd?.(flow, durationMs)
  }
}

/** Adds a finished multipath flow's subflows into its route's per-path totals (index-aligned). */
function addSubflowTotals(paths: PathTraffic[], subflows: readonly SubflowStats[]): void {
  for (const s of subflows) {
    paths[s.index] ??= { bytesSent: 0, bytesReceived: 0, retransmittedBytes: 0, srttMs: undefined }
    const totals = paths[s.index] as PathTraffic
    totals.bytesSent += s.bytesSent
    totals.bytesReceived += s.bytesReceived
    totals.retransmittedBytes += s.retransmittedBytes
    if (s.srttMs !== undefined) totals.srttMs = s.srttMs
  }
}
