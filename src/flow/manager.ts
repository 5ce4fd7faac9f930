/**
 * FlowManager: gives flows their ids, keeps the active ones, and hands each finished flow to the
 * node's accounting (stats, metrics, access log) exactly once.
 */
import type { Socket } from 'node:net'
import type { FlowInfo } from '../node/api.ts'
import type { Clock } from '../util/clock.ts'
import { type CloseReason, Flow, type ListenerRef } from './flow.ts'
import { abortFlow, type FlowSink, watchDownstream } from './relay.ts'

export class FlowManager implements FlowSink {
  readonly #active = new Set<Flow>()
  readonly #clock: Clock
  readonly #onFinished: (flow: Flow) => void
  readonly #idPrefix: string
  #nextId = 0
  #idleWaiters: (() => void)[] = []

  constructor(clock: Clock, onFinished: (flow: Flow) => void) {
    this.#clock = clock
    this.#onFinished = onFinished
    // Ids stay unique across restarts of the node without a per-flow random draw.
    this.#idPrefix = `${clock.now().toString(36)}-`
  }

  open(downstream: Socket, listener: ListenerRef): Flow {
    const flow = new Flow(
      this.#idPrefix + (this.#nextId++).toString(36),
      listener,
      downstream,
      this.#clock.now(),
    )
    this.#active.add(flow)
    watchDownstream(flow, this)
    return flow
  }

  finished(flow: Flow): void {
    if (!this.#active.delete(flow)) return
    flow.endedAt = this.#clock.now()
    this.#onFinished(flow)
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
