/**
 * One outbound control channel to a peer, for one connection's life: dial, hello, then PINGs,
 * each answered or not within the probe timeout. It reports what it sees and never reconnects
 * itself; the manager decides when to build the next one and how long after a probe the next one
 * goes (asked again after every outcome: a peer in transition is probed faster).
 */
import type { PeerConfig } from '../config/types.ts'
import { DynproxyError } from '../errors/base.ts'
import { ControlFrameError, ControlRejectedError, PeerIdentityError } from '../errors/peer.ts'
import { dialPeer } from '../mesh/dial.ts'
import type { PeerTlsOptions } from '../mesh/peer-tls.ts'
import { MAX_RESPONSE_HEADER_BYTES } from '../mesh/wire/constants.ts'
import { encodeControlHello } from '../mesh/wire/control.ts'
import { type ControlFrame, ControlFrameReader, encodeControlFrame } from '../mesh/wire/control-frames.ts'
import { readOpenResponse } from '../mesh/wire/io.ts'
import type { CloseCause, Connection, ConnectionSink } from '../socket/connection.ts'
import type { Clock } from '../util/clock.ts'

/** Probes are 15 bytes a second: this much unsent means the peer stopped reading long ago. */
export const MAX_CONTROL_WRITE_BUFFER_BYTES = 64 * 1024

export interface ControlChannelOptions {
  readonly peer: PeerConfig
  readonly nodeId: string
  /** Signs the hello when set. */
  readonly token?: string
  readonly tls?: PeerTlsOptions
  readonly connectTimeoutMs: number
  /** How long after the last probe the next one goes, as things stand now. */
  readonly probeDelayMs: (outstanding: boolean) => number
  readonly probeTimeoutMs: number
  /** Wall time for the hello timestamp. */
  readonly clock: Clock
  /** Monotonic, fractional milliseconds for round-trip times. */
  readonly monotonic: Clock
}

export interface ControlChannelEvents {
  onAnswered(rttMs: number): void
  onUnanswered(): void
  /** Once, after the channel released its socket and timers; not called after close(). */
  onDown(reason: string, err?: Error): void
}

interface Outstanding {
  readonly echo: bigint
  readonly timer: NodeJS.Timeout
}

export class ControlChannel implements ConnectionSink<ControlChannel> {
  readonly #opts: ControlChannelOptions
  readonly #events: ControlChannelEvents
  readonly #outstanding = new Map<number, Outstanding>()
  readonly #reader = new ControlFrameReader()
  #conn: Connection | undefined
  #probeTimer: NodeJS.Timeout | undefined
  #lastProbeAt = 0
  #seq = 0
  #done = false
  readonly #released = Promise.withResolvers<void>()
  /** Settles when the channel's dial is over and its connection, if any, is closed. Never rejects. */
  readonly finished: Promise<void>

  constructor(options: ControlChannelOptions, events: ControlChannelEvents) {
    this.#opts = options
    this.#events = events
    this.finished = this.#run()
      .catch((err: unknown) => this.#down(describe(err), err))
      .then(() => this.#released.promise)
  }

  get owner(): ControlChannel {
    return this
  }

  /** Stops the channel without reporting it down (the manager is closing it). */
  close(): void {
    this.#release()
  }

  async #run(): Promise<void> {
    const o = this.#opts
    const conn = await dialPeer({
      peer: o.peer,
      ...(o.tls && { tls: o.tls }),
      timeoutMs: o.connectTimeoutMs,
    })
    this.#conn = conn
    if (this.#done) return void this.#release()
    const hello = { sourceNodeId: o.nodeId, expectedNodeId: o.peer.name }
    conn.write(encodeControlHello(hello, o.token ? { token: o.token, now: o.clock.now() } : undefined))
    const { response } = await readOpenResponse(conn, {
      maxBytes: MAX_RESPONSE_HEADER_BYTES,
      timeoutMs: o.connectTimeoutMs,
    })
    if (response.status !== 'ok')
      throw new ControlRejectedError(o.peer.name, response.status, response.message)
    if (response.nodeId !== undefined && response.nodeId !== o.peer.name) {
      throw new PeerIdentityError(o.peer.name, response.nodeId)
    }
    if (this.#done) return
    conn.sink = this
    conn.resume()
    if (conn.closed) return
    this.#probe(conn)
    this.#scheduleProbe(conn)
  }

  onData(conn: Connection, chunk: Buffer): void {
    try {
      this.#reader.push(chunk, (frame) => this.#onFrame(conn, frame))
    } catch (err) {
      this.#down(describe(err), err)
    }
  }

  onEnd(): void {
    this.#down('channel closed by the peer')
  }

  onDrain(): void {}

  onClose(conn: Connection, cause: CloseCause): void {
    const code = (conn.closeError as NodeJS.ErrnoException | undefined)?.code
    if (cause === 'reset') this.#down(`channel error ${code ?? 'reset'}`, conn.closeError)
    else this.#down('channel closed')
  }

  /** (Re)arms the next probe: `probeDelayMs()` after the last one, or at once if that is past. */
  #scheduleProbe(conn: Connection): void {
    clearTimeout(this.#probeTimer)
    if (this.#done) return
    const wait =
      this.#lastProbeAt + this.#opts.probeDelayMs(this.#outstanding.size > 0) - this.#opts.monotonic.now()
    this.#probeTimer = setTimeout(
      () => {
        this.#probe(conn)
        this.#scheduleProbe(conn)
      },
      Math.max(0, wait),
    )
  }

  #probe(conn: Connection): void {
    if (conn.backlogBytes > MAX_CONTROL_WRITE_BUFFER_BYTES) {
      this.#down(`peer stopped reading (${conn.backlogBytes} bytes unsent)`)
      return
    }
    this.#seq = (this.#seq + 1) >>> 0
    const seq = this.#seq
    this.#lastProbeAt = this.#opts.monotonic.now()
    const echo = BigInt(Math.round(this.#lastProbeAt * 1000))
    const timer = setTimeout(() => {
      this.#outstanding.delete(seq)
      this.#events.onUnanswered()
      this.#scheduleProbe(conn)
    }, this.#opts.probeTimeoutMs)
    this.#outstanding.set(seq, { echo, timer })
    conn.write(encodeControlFrame({ kind: 'ping', seq, echo }))
  }

  #onFrame(conn: Connection, frame: ControlFrame): void {
    if (frame.kind === 'ping') {
      conn.write(encodeControlFrame({ ...frame, kind: 'pong' }))
      return
    }
    const sent = this.#outstanding.get(frame.seq)
    // A PONG after its probe timed out was already counted as lost.
    if (sent === undefined) return
    if (sent.echo !== frame.echo) throw new ControlFrameError(`pong ${frame.seq} does not echo its ping`)
    clearTimeout(sent.timer)
    this.#outstanding.delete(frame.seq)
    const rttMs = this.#opts.monotonic.now() - Number(sent.echo) / 1000
    this.#events.onAnswered(Math.max(0, rttMs))
    this.#scheduleProbe(conn)
  }

  #down(reason: string, err?: unknown): void {
    if (this.#done) return
    this.#release()
    this.#events.onDown(reason, err instanceof Error ? err : undefined)
  }

  #release(): void {
    this.#done = true
    clearTimeout(this.#probeTimer)
    for (const { timer } of this.#outstanding.values()) clearTimeout(timer)
    this.#outstanding.clear()
    // Closed at once (Bun closes within the call): the channel holds nothing after this.
    this.#conn?.closeNow()
    this.#released.resolve()
  }
}

function describe(err: unknown): string {
  if (err instanceof DynproxyError) return err.message
  return err instanceof Error ? err.message : String(err)
}
