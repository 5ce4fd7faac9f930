/**
 * FramedSession carries one local byte stream over several subflows and reassembles the far
 * end's stream from them. Both ends run the same class: the ingress with the client connection as
 * `local`, the egress with the target connection. The session is its local connection's sink.
 *
 * Per direction (a byte's life):
 *   local data → SendBuffer (offset assigned) → scheduler picks subflow(s) → DATA frame
 *   → far end: credit check → ReorderBuffer → in order → its local write → taken by the kernel
 *   → its credit grows → ACK {cumulative, limit} → SendBuffer drops the acknowledged chunks.
 *
 * Invariants:
 * - bytes read from local and unacknowledged ≤ maxUnackedBytes + one read (reading pauses; Bun
 *   reads up to 512 KiB at a time);
 * - bytes received and not yet taken by local ≤ maxReorderBytes (a sender never exceeds the
 *   credit limit; a DATA beyond it is a protocol error);
 * - a chunk whose subflow is lost is re-sent on a survivor before any new chunk;
 * - the session ends cleanly only when both FINs are delivered and acknowledged, and fails
 *   (RESET to the far end, reset of local) on a protocol error, a local failure, or when it has
 *   had no subflow for graceMs.
 */
import { EventEmitter } from 'node:events'
import {
  MultipathLocalError,
  MultipathPeerResetError,
  MultipathProtocolError,
  MultipathSubflowsLostError,
  MultipathSubflowTimeoutError,
} from '../errors/multipath.ts'
import type { CloseCause, Connection, ConnectionSink } from '../socket/connection.ts'
import { WriteQueue } from '../socket/write-queue.ts'
import { type MultipathMode, pickFailover, pickStripe, redundantTargets } from './chunk-picker.ts'
import {
  type AckFrame,
  encodeAck,
  encodeFin,
  encodePing,
  encodePong,
  encodeReset,
  type Frame,
  type ResetReason,
} from './frame.ts'
import { PRIOR_RATE_BYTES_PER_MS } from './meter.ts'
import {
  type FramedSessionOptions,
  INITIAL_CREDIT_BYTES,
  type ResolvedOptions,
  resolveOptions,
} from './options.ts'
import { ReorderBuffer } from './reorder.ts'
import { type Chunk, SendBuffer } from './send-buffer.ts'
import { StallMeter, type StallStats } from './stall.ts'
import { Subflow, type SubflowHost, type SubflowStats } from './subflow.ts'

export interface FramedSessionStats {
  readonly mode: MultipathMode
  readonly state: 'open' | 'closed'
  /** Bytes read from the local side (sent to the far end). */
  readonly bytesFromLocal: number
  /** Bytes delivered in order to the local side (received from the far end). */
  readonly bytesToLocal: number
  /** Payload bytes re-sent after a subflow loss, plus redundant copies. */
  readonly retransmittedBytes: number
  /** Payload bytes received more than once and dropped. */
  readonly duplicateBytesReceived: number
  readonly unackedBytes: number
  readonly unackedHighWaterBytes: number
  readonly reorderBytes: number
  readonly reorderHighWaterBytes: number
  /** Bytes delivered to the local side that it has not taken yet (its write queue). */
  readonly localQueuedBytes: number
  /** Reorder buffer plus local write queue at their largest: bounded by maxReorderBytes. */
  readonly receiveHighWaterBytes: number
  readonly subflowsOpen: number
  readonly subflowsLost: number
  readonly stall: StallStats
}

export interface FramedSessionEvents {
  /** A subflow ended or failed; the owner may open a replacement and `addSubflow` it. */
  subflowClosed: [index: number, error: Error | undefined]
  /** The session is over: undefined when both directions finished, else why it failed. */
  close: [error: Error | undefined]
}

export class FramedSession extends EventEmitter<FramedSessionEvents> implements SubflowHost {
  readonly #o: ResolvedOptions
  readonly #local: Connection
  /** What was delivered to the local side and not yet taken by its kernel: bounded by the credit. */
  readonly #localOut: WriteQueue
  readonly #subflows = new Map<number, Subflow>()
  readonly #history: Subflow[] = []
  readonly #send = new SendBuffer()
  readonly #recv = new ReorderBuffer()
  readonly #stall: StallMeter
  readonly #closed: Promise<Error | undefined>
  #resolveClosed: (err: Error | undefined) => void = () => {}
  #state: 'open' | 'closed' = 'open'
  #limit = INITIAL_CREDIT_BYTES
  #active: number | undefined
  #finalOffset: number | undefined
  #finAcked = false
  #remoteFinal: number | undefined
  #localEnded = false
  #localFinished = false
  #creditPending = false
  #bytesFromLocal = 0
  #unackedHighWater = 0
  #receiveHighWater = 0
  #lost = 0
  #tick: unknown
  #grace: unknown
  #linger: unknown
  /** Subflows still open after the session ended, given their linger to close. */
  readonly #lingering = new Set<Subflow>()

  constructor(options: FramedSessionOptions) {
    super()
    this.#o = resolveOptions(options)
    this.#local = options.local
    this.#localOut = new WriteQueue(options.local)
    this.#stall = new StallMeter(this.#o.stallThresholdMs)
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve
    })
    if (options.prefix !== undefined) this.#onLocalData(options.prefix)
    this.#attachLocal()
    this.#armTick()
    this.#armGrace()
  }

  /** Resolves when the session is over: undefined after a clean finish, else the error. */
  get closed(): Promise<Error | undefined> {
    return this.#closed
  }

  get mode(): MultipathMode {
    return this.#o.mode
  }

  /**
   * Adds a subflow (its mesh handshake done; from now on it carries frames only). An index in use
   * replaces the old subflow, which counts as lost. Returns false, and closes the connection, when
   * the session is already over.
   */
  addSubflow(connection: Connection, index: number): boolean {
    if (this.#state === 'closed') {
      connection.closeNow()
      return false
    }
    const old = this.#subflows.get(index)
    if (old !== undefined) this.onGone(old, undefined)
    const now = this.#o.clock.now()
    const s = new Subflow(
      index,
      connection,
      this.#weight(index),
      this.#prior(index),
      this.#o.subflowWriteBudgetBytes,
      now,
    )
    s.cursor = this.#send.acked
    this.#subflows.set(index, s)
    this.#history.push(s)
    this.#o.timers.clearTimeout(this.#grace)
    s.attach(this, () => this.#o.clock.now())
    this.#writeAck(s)
    if (this.#finalOffset !== undefined && !this.#finAcked) s.writeFrame(encodeFin(this.#finalOffset))
    s.writeFrame(encodePing(now))
    this.#pump()
    return true
  }

  subflows(): SubflowStats[] {
    return this.#history.map((s) => s.stats())
  }

  stats(): FramedSessionStats {
    return {
      mode: this.#o.mode,
      state: this.#state,
      bytesFromLocal: this.#bytesFromLocal,
      bytesToLocal: this.#recv.next,
      retransmittedBytes: this.#history.reduce((sum, s) => sum + s.retransmittedBytes, 0),
      duplicateBytesReceived: this.#recv.duplicateBytes,
      unackedBytes: this.#send.bytes,
      unackedHighWaterBytes: this.#unackedHighWater,
      reorderBytes: this.#recv.bytes,
      reorderHighWaterBytes: this.#recv.highWaterBytes,
      localQueuedBytes: this.#localOut.bytes,
      receiveHighWaterBytes: this.#receiveHighWater,
      subflowsOpen: this.#subflows.size,
      subflowsLost: this.#lost,
      stall: this.#stall.stats(this.#o.clock.now()),
    }
  }

  /**
   * Stops reading the local side as if it had sent its FIN, and resolves once the far end has
   * finished too (or the session failed).
   */
  async close(): Promise<void> {
    if (this.#state === 'open' && !this.#localEnded) {
      this.#local.pause()
      this.#onLocalEnd()
    }
    await this.#closed
  }

  /** Aborts: RESET to the far end, the local side reset. Idempotent. */
  destroy(error?: Error): void {
    this.#fail(error ?? new MultipathLocalError('was aborted by its owner'), 'aborted')
  }

  // --- SubflowHost -----------------------------------------------------------------------------

  onFrame(s: Subflow, frame: Frame): void {
    switch (frame.type) {
      case 'data':
        this.#onData(s, frame.offset, frame.payload)
        break
      case 'ack':
        this.#onAck(s, frame)
        break
      case 'fin':
        this.#onFin(s, frame.finalOffset)
        break
      case 'ping':
        s.writeFrame(encodePong(frame.stamp))
        break
      case 'pong':
        s.meter.onRtt(this.#o.clock.now() - frame.stamp)
        break
      case 'reset':
        this.#fail(new MultipathPeerResetError(frame.reason), undefined)
    }
  }

  onReadDone(s: Subflow): void {
    if (s.ackDue) this.#writeAck(s)
  }

  onDrain(): void {
    this.#pump()
  }

  onCorrupt(_s: Subflow, error: Error): void {
    this.#fail(error, 'protocol_error')
  }

  onGone(s: Subflow, error: Error | undefined): void {
    if (!s.alive) return
    s.alive = false
    s.closeReason = error?.message ?? 'closed'
    s.close()
    if (this.#subflows.get(s.index) === s) this.#subflows.delete(s.index)
    if (this.#state === 'closed') return
    this.#lost++
    if (this.#o.mode !== 'redundant') this.#send.markLost(s.index)
    if (this.#active === s.index) this.#active = undefined
    for (const other of this.#subflows.values()) this.#writeAck(other)
    if (this.#subflows.size === 0) this.#armGrace()
    this.#pump()
    this.emit('subflowClosed', s.index, error)
  }

  onClosed(s: Subflow): void {
    if (!this.#lingering.delete(s) || this.#lingering.size > 0) return
    this.#o.timers.clearTimeout(this.#linger)
  }

  // --- the local connection ---------------------------------------------------------------------

  /** The local side took what waited for it: its credit grows, and a FIN waiting for that goes. */
  #onLocalDrain(): void {
    if (!this.#localOut.flush()) return
    this.#scheduleCredit()
    this.#noteLocalFinished()
  }

  #onLocalClose(cause: CloseCause): void {
    this.#localOut.clear()
    // Both halves ended is a normal close (a connection closes itself then, within our own FIN's
    // call when its peer's FIN came first), even if the far end has yet to acknowledge our FIN.
    if (cause === 'peer' && this.#localEnded) return void this.#noteLocalFinished()
    if (this.#localEnded && this.#localFinished) return
    if (cause === 'reset')
      this.#fail(new MultipathLocalError('failed', { cause: this.#local.closeError }), 'local_failed')
    else this.#fail(localGone(), 'local_failed')
  }

  // --- receiving -------------------------------------------------------------------------------

  #onData(s: Subflow, offset: number, payload: Buffer): void {
    s.bytesReceived += payload.length
    s.ackDue = true
    const end = offset + payload.length
    const limit = this.#grantLimit()
    if (end > limit)
      throw new MultipathProtocolError(`data up to offset ${end} exceeds the credit limit ${limit}`)
    if (this.#remoteFinal !== undefined && end > this.#remoteFinal) {
      throw new MultipathProtocolError(`data up to offset ${end} goes beyond the fin at ${this.#remoteFinal}`)
    }
    const ready = this.#recv.insert(offset, payload)
    for (const buf of ready) this.#deliver(buf)
    const queued = this.#recv.bytes + this.#localOut.bytes
    if (queued > this.#receiveHighWater) this.#receiveHighWater = queued
    this.#noteStall(ready.length > 0)
    if (ready.length > 0 && this.#recv.next === this.#remoteFinal) this.#endLocal()
  }

  #deliver(buf: Buffer): void {
    if (this.#localOut.write(buf)) this.#scheduleCredit()
  }

  #onFin(s: Subflow, finalOffset: number): void {
    s.ackDue = true
    if (this.#remoteFinal !== undefined) {
      if (this.#remoteFinal !== finalOffset) {
        throw new MultipathProtocolError(
          `fin at ${finalOffset} contradicts the earlier fin at ${this.#remoteFinal}`,
        )
      }
      return
    }
    if (finalOffset < this.#recv.next) {
      throw new MultipathProtocolError(
        `fin at ${finalOffset} is below the ${this.#recv.next} bytes delivered`,
      )
    }
    this.#remoteFinal = finalOffset
    if (this.#recv.next === finalOffset) this.#endLocal()
  }

  #endLocal(): void {
    this.#localOut.end()
    this.#noteLocalFinished()
  }

  /** Our FIN to the local side has gone to the kernel, after everything before it. */
  #noteLocalFinished(): void {
    if (this.#localFinished || !this.#localOut.finished) return
    this.#localFinished = true
    this.#maybeFinish()
  }

  /** Credit grows as the local side takes bytes; one ACK per turn of the event loop carries it. */
  #scheduleCredit(): void {
    if (this.#creditPending) return
    this.#creditPending = true
    setImmediate(() => {
      this.#creditPending = false
      if (this.#state === 'closed') return
      const best = this.#fastest()
      if (best !== undefined) this.#writeAck(best)
    })
  }

  /** Credit counts bytes the local side has taken, not those still queued for it. */
  #grantLimit(): number {
    return this.#recv.next - this.#localOut.bytes + this.#o.maxReorderBytes
  }

  #writeAck(s: Subflow): void {
    s.ackDue = false
    const ack = {
      cumulative: this.#recv.next,
      limit: this.#grantLimit(),
      subflowReceived: s.bytesReceived,
      finReceived: this.#remoteFinal !== undefined,
    }
    s.lastAck = { cumulative: ack.cumulative, limit: ack.limit, finReceived: ack.finReceived }
    s.writeFrame(encodeAck(ack))
  }

  // --- sending ---------------------------------------------------------------------------------

  /**
   * The session reads its local side from now on. What the local side sent while the paths were
   * opening, its FIN included, was held for this: it is delivered first. A local side closed
   * already fails the session once its first subflows are added, so that they carry the RESET.
   */
  #attachLocal(): void {
    const local = this.#local
    if (local.closed) {
      queueMicrotask(() => this.#fail(localGone(), 'local_failed'))
      return
    }
    const sink: ConnectionSink<FramedSession> = {
      owner: this,
      onData: (_conn, chunk) => this.#onLocalData(chunk),
      onEnd: () => this.#onLocalEnd(),
      onDrain: () => this.#onLocalDrain(),
      onClose: (_conn, cause) => this.#onLocalClose(cause),
    }
    local.sink = sink
    local.resume()
  }

  #onLocalData(chunk: Buffer): void {
    if (this.#state === 'closed' || this.#localEnded) return
    this.#send.append(chunk)
    this.#bytesFromLocal += chunk.length
    if (this.#send.bytes > this.#unackedHighWater) this.#unackedHighWater = this.#send.bytes
    if (this.#send.bytes >= this.#o.maxUnackedBytes) this.#local.pause()
    this.#noteStall(false)
    this.#pump()
  }

  #onLocalEnd(): void {
    if (this.#state === 'closed' || this.#localEnded) return
    this.#localEnded = true
    this.#finalOffset = this.#send.nextOffset
    for (const s of this.#subflows.values()) s.writeFrame(encodeFin(this.#finalOffset))
    this.#maybeFinish()
  }

  #onAck(s: Subflow, a: AckFrame): void {
    if (a.cumulative > this.#send.nextOffset) {
      throw new MultipathProtocolError(
        `ack of offset ${a.cumulative} beyond the ${this.#send.nextOffset} bytes sent`,
      )
    }
    if (a.subflowReceived > s.bytesSent) {
      throw new MultipathProtocolError(
        `subflow ${s.index}: ack reports ${a.subflowReceived} bytes received of ${s.bytesSent} sent`,
      )
    }
    s.meter.onReceived(a.subflowReceived, s.inflightBytes, this.#o.clock.now())
    const acked = this.#send.ack(a.cumulative)
    if (a.limit > this.#limit) this.#limit = a.limit
    if (a.finReceived && this.#finalOffset !== undefined) this.#finAcked = true
    if (this.#send.bytes < this.#o.maxUnackedBytes && !this.#localEnded) this.#local.resume()
    this.#noteStall(acked > 0)
    this.#pump()
    this.#maybeFinish()
  }

  /**
   * A send is recorded before its write: a write that fails ends its subflow at once (Bun closes a
   * socket inside the failing write), and the subflow's loss must find the chunk it carried.
   */
  #pump(): void {
    if (this.#state === 'closed') return
    if (this.#o.mode === 'redundant') {
      this.#pumpRedundant()
      return
    }
    for (let c = this.#send.peekLost(); c !== undefined; c = this.#send.peekLost()) {
      const s = this.#pick(c.data.length)
      if (s === undefined) return
      this.#send.resent(c, s.index)
      s.writeData(c.offset, c.data, true, this.#o.clock.now())
    }
    for (
      let c = this.#send.peekUnsent(this.#limit);
      c !== undefined;
      c = this.#send.peekUnsent(this.#limit)
    ) {
      const s = this.#pick(c.data.length)
      if (s === undefined) return
      this.#send.sent(c, s.index)
      s.writeData(c.offset, c.data, false, this.#o.clock.now())
    }
  }

  #pumpRedundant(): void {
    const views = [...this.#subflows.values()].map((s) => s.view())
    for (const index of redundantTargets(views)) {
      const s = this.#subflows.get(index) as Subflow
      for (const c of this.#send.chunksFrom(s.cursor)) {
        if (!s.writable || c.offset + c.data.length > this.#limit) break
        this.#sendRedundant(s, c)
      }
    }
  }

  #sendRedundant(s: Subflow, c: Chunk): void {
    const copy = c.sends > 0
    this.#send.sent(c, s.index)
    s.cursor = c.offset + c.data.length
    s.writeData(c.offset, c.data, copy, this.#o.clock.now())
  }

  #pick(bytes: number): Subflow | undefined {
    const views = [...this.#subflows.values()].map((s) => s.view())
    if (this.#o.mode === 'failover') {
      this.#active = pickFailover(views, this.#active)
      const s = this.#active === undefined ? undefined : this.#subflows.get(this.#active)
      return s?.writable ? s : undefined
    }
    const index = pickStripe(views, bytes, this.#limit - this.#send.acked)
    return index === undefined ? undefined : this.#subflows.get(index)
  }

  /** The subflow with the lowest smoothed RTT: where ACKs that do not belong to a read go. */
  #fastest(): Subflow | undefined {
    let best: Subflow | undefined
    for (const s of this.#subflows.values()) {
      if (best === undefined || (s.meter.srttMs ?? Infinity) < (best.meter.srttMs ?? Infinity)) best = s
    }
    return best
  }

  // --- lifecycle -------------------------------------------------------------------------------

  #noteStall(progressed: boolean): void {
    const busy = this.#send.bytes > 0 || this.#recv.bytes > 0
    this.#stall.note(this.#o.clock.now(), busy, progressed)
  }

  #maybeFinish(): void {
    if (this.#state === 'closed' || !this.#localFinished || !this.#finAcked) return
    if (this.#send.acked !== this.#finalOffset) return
    this.#state = 'closed'
    this.#stopTimers()
    for (const s of this.#subflows.values()) {
      this.#writeAck(s)
      s.end()
    }
    this.#lingerThenDestroy()
    this.#local.close()
    this.#resolveClosed(undefined)
    this.emit('close', undefined)
  }

  /** `reason` undefined: the far end reset us, so no RESET goes back. */
  #fail(error: Error, reason: ResetReason | undefined): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#stopTimers()
    for (const s of this.#subflows.values()) {
      if (reason !== undefined) s.writeFrame(encodeReset(reason))
      s.end()
    }
    this.#lingerThenDestroy()
    this.#localOut.clear()
    this.#local.reset()
    this.#resolveClosed(error)
    this.emit('close', error)
  }

  /** Subflows get `lingerMs` to close after their FIN; those still open then are closed. */
  #lingerThenDestroy(): void {
    for (const s of this.#subflows.values()) if (!s.connection.closed) this.#lingering.add(s)
    if (this.#lingering.size === 0) return
    this.#linger = this.#o.timers.setTimeout(() => {
      for (const s of this.#lingering) s.close()
      this.#lingering.clear()
    }, this.#o.lingerMs)
  }

  #stopTimers(): void {
    this.#o.timers.clearTimeout(this.#tick)
    this.#o.timers.clearTimeout(this.#grace)
  }

  #armGrace(): void {
    this.#o.timers.clearTimeout(this.#grace)
    this.#grace = this.#o.timers.setTimeout(() => {
      if (this.#subflows.size === 0) {
        this.#fail(new MultipathSubflowsLostError(this.#o.graceMs, this.#lost), 'subflows_lost')
      }
    }, this.#o.graceMs)
  }

  /** Every ping interval: PING each subflow, drop silent ones, refresh ACKs that changed. */
  #armTick(): void {
    this.#tick = this.#o.timers.setTimeout(() => {
      if (this.#state === 'closed') return
      const now = this.#o.clock.now()
      for (const s of [...this.#subflows.values()]) {
        const silentMs = now - s.lastRxAt
        if (silentMs > this.#o.subflowTimeoutMs) {
          this.onGone(s, new MultipathSubflowTimeoutError(s.index, silentMs))
          continue
        }
        s.writeFrame(encodePing(now))
        const l = s.lastAck
        const changed = l.cumulative !== this.#recv.next || l.limit !== this.#grantLimit()
        if (changed || l.finReceived !== (this.#remoteFinal !== undefined)) this.#writeAck(s)
      }
      if (this.#state === 'open') this.#armTick()
    }, this.#o.pingIntervalMs)
  }

  #weight(index: number): number {
    return this.#o.weights[index] ?? Math.max(1, ...this.#o.weights)
  }

  #prior(index: number): number {
    const max = Math.max(1, ...this.#o.weights)
    return (PRIOR_RATE_BYTES_PER_MS * this.#weight(index)) / max
  }
}

function localGone(): MultipathLocalError {
  return new MultipathLocalError('closed before the flow finished')
}
