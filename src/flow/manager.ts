/**
 * FlowManager: gives flows their ids, keeps the active ones, and hands each finished flow to the
 * node's accounting (stats, metrics, access log) exactly once.
 */
import type { Socket } from 'node:net'
import type { Clock } from '../util/clock.ts'
import type { FlowInfo } from '../views/node-view.ts'
import { type CloseReason, Flow, type FlowSink, type ListenerRef } from './flow.ts'
import { abortFlow, watchDownstream } from './relay.ts'

export interface FlowManagerOptions {
  /**
   * Read each client's address at accept, while its socket is open, so that it can still be
   * logged once the flow has closed (the access log). Without it the address is read only when
   * routing or a view asks: a getpeername call saved per flow. Default true.
   */
  readonly recordSource?: boolean
}

export class FlowManager implements FlowSink {
  readonly #active = new Set<Flow>()
  readonly #clock: Clock
  readonly #accounting: FlowSink
  /** Listener flows for which no upstream could be reached (the pipeline counts them). */
  failedFlows = 0
  readonly #idPrefix: string
  #recordSource: boolean
  #nextId = 0
  #idleWaiters: (() => void)[] = []

  constructor(clock: Clock, accounting: FlowSink, options: FlowManagerOptions = {}) {
    this.#clock = clock
    this.#accounting = accounting
    this.#recordSource = options.recordSource ?? true
    // Ids stay unique across restarts of the node without a per-flow random draw.
    this.#idPrefix = `${clock.now().toString(36)}-`
  }

  /** A reload that turns the access log on or off changes it for the flows accepted after. */
  set recordSource(record: boolean) {
    this.#recordSource = record
  }

  open(downstream: Socket, listener: ListenerRef): Flow {
    const flow = new Flow(
      this.#idPrefix + (this.#nextId++).toString(36),
      listener,
      downstream,
      this.#clock.now(),
      this,
    )
    this.#active.add(flow)
    if (this.#recordSource) flow.recordSource()
    watchDownstream(flow)
    return flow
  }

  finished(flow: Flow): void {
    if (!this.#active.delete(flow)) return
    flow.endedAt = this.#clock.now()
    this.#accounting.finished(flow)
    if (this.#active.size === 0 && this.#idleWaiters.length > 0) {
      for (const wake of this.#idleWaiters.splice(0)) wake()
    }
  }

  get activeCount(): number {
    return this.#active.size
  }

  list(limit = Number.POSITIVE_INFINITY, listener?: string): FlowInfo[] {
    const now = this.#clock.now()
    const out: FlowInfo[] = []
    for (const flow of this.#active) {
      if (out.length >= limit) break
      if (listener === undefined || flow.listener.name === listener) out.push(flow.info(now))
    }
    return out
  }

  /** Bytes moved so far by flows still open (of one listener, or all but `except`'s). */
  activeBytes(listener?: string, except?: string): { bytesIn: number; bytesOut: number } {
    let bytesIn = 0
    let bytesOut = 0
    for (const flow of this.#active) {
      if (listener !== undefined && flow.listener.name !== listener) continue
      if (except !== undefined && flow.listener.name === except) continue
      bytesIn += flow.bytesIn
      bytesOut += flow.bytesOut
    }
    return { bytesIn, bytesOut }
  }

  abortAll(reason: CloseReason): void {
    for (const flow of this.#active) abortFlow(flow, reason)
  }

  /** Resolves when no flow is active, or after `timeoutMs` at the latest. */
  idle(timeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve()
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve)
      if (Number.isFinite(timeoutMs)) setTimeout(resolve, timeoutMs).unref()
    })
  }
}
