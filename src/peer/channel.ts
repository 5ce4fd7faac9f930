/**
 * One outbound control channel to a peer, for one connection's life: dial, hello, then PINGs,
 * each answered or not within the probe timeout. It reports what it sees and never reconnects
 * itself; the manager decides when to build the next one and how long after a probe the next one
 * goes (asked again after every outcome: a peer in transition is probed faster).
 */
import type { Socket } from 'node:net'
import type { PeerConfig } from '../config/types.ts'
import { DynproxyError } from '../errors/base.ts'
import { ControlFrameError, ControlRejectedError, PeerIdentityError } from '../errors/peer.ts'
import { dialPeer } from '../mesh/dial.ts'
import type { PeerTlsOptions } from '../mesh/peer-tls.ts'
import { MAX_RESPONSE_HEADER_BYTES } from '../mesh/wire/constants.ts'
import { encodeControlHello } from '../mesh/wire/control.ts'
import { type ControlFrame, ControlFrameReader, encodeControlFrame } from '../mesh/wire/control-frames.ts'
import { readOpenResponse } from '../mesh/wire/io.ts'
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

export class ControlChannel {
  readonly #opts: ControlChannelOptions
  readonly #events: ControlChannelEvents
  readonly #abort = new AbortController()
  readonly #outstanding = new Map<number, Outstanding>()
  #socket: Socket | undefined
  #probeTimer: NodeJS.Timeout | undefined
  #lastProbeAt = 0
  #seq = 0
  #done = false
  #socketClosed: Promise<void> = Promise.resolve()
  /** Settles when the channel's dial is over and its socket, if any, is closed. Never rejects. */
  readonly finished: Promise<void>

  constructor(options: ControlChannelOptions, events: ControlChannelEvents) {
    this.#opts = options
    this.#events = events
    this.finished = this.#run()
      .catch((err: unknown) => this.#down(describe(err), err))
      .then(() => this.#socketClosed)
  }

  /** Stops the channel without reporting it down (the manager is closing it). */
  close(): void {
    this.#release()
  }

  async #run(): Promise<void> {
    const o = this.#opts
    const socket = await dialPeer({
      peer: o.peer,
      tls: o.tls,
      timeoutMs: o.connectTimeoutMs,
      signal: this.#abort.signal,
    })
    this.#socketClosed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
    this.#socket = socket
    socket.on('error', (err: NodeJS.ErrnoException) =>
      this.#down(`channel error ${err.code ?? err.message}`, err),
    )
    socket.on('end', () => this.#down('channel closed by the peer'))
    socket.on('close', () => this.#down('channel closed'))
    if (this.#done) return void socket.destroy()
    const hello = { sourceNodeId: o.nodeId, expectedNodeId: o.peer.name }
    socket.write(encodeControlHello(hello, o.token ? { token: o.token, now: o.clock.now() } : undefined))
    const { response } = await readOpenResponse(socket, {
      maxBytes: MAX_RESPONSE_HEADER_BYTES,
      timeoutMs: o.connectTimeoutMs,
    })
    if (response.status !== 'ok')
      throw new ControlRejectedError(o.peer.name, response.status, response.message)
    if (response.nodeId !== undefined && response.nodeId !== o.peer.name) {
      throw new PeerIdentityError(o.peer.name, response.nodeId)
    }
    if (this.#done) return
    this.#startProbing(socket)
  }

  #startProbing(socket: Socket): void {
    const reader = new ControlFrameReader()
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (frame) => this.#onFrame(socket, frame))
      } catch (err) {
        this.#down(describe(err), err)
      }
    })
    socket.resume()
    this.#probe(socket)
    this.#scheduleProbe(socket)
  }

  /** (Re)arms the next probe: `probeDelayMs()` after the last one, or at once if that is past. */
  #scheduleProbe(socket: Socket): void {
    clearTimeout(this.#probeTimer)
    if (this.#done) return
    const wait =
      this.#lastProbeAt + this.#opts.probeDelayMs(this.#outstanding.size > 0) - this.#opts.monotonic.now()
    this.#probeTimer = setTimeout(
      () => {
        this.#probe(socket)
        this.#scheduleProbe(socket)
      },
      Math.max(0, wait),
    )
  }

  #probe(socket: Socket): void {
    if (socket.writableLength > MAX_CONTROL_WRITE_BUFFER_BYTES) {
      this.#down(`peer stopped reading (${socket.writableLength} bytes unsent)`)
      return
    }
    this.#seq = (this.#seq + 1) >>> 0
    const seq = this.#seq
    this.#lastProbeAt = this.#opts.monotonic.now()
    const echo = BigInt(Math.round(this.#lastProbeAt * 1000))
    const timer = setTimeout(() => {
      this.#outstanding.delete(seq)
      this.#events.onUnanswered()
      this.#scheduleProbe(socket)
    }, this.#opts.probeTimeoutMs)
    this.#outstanding.set(seq, { echo, timer })
    socket.write(encodeControlFrame({ kind: 'ping', seq, echo }))
  }

  #onFrame(socket: Socket, frame: ControlFrame): void {
    if (frame.kind === 'ping') {
      socket.write(encodeControlFrame({ ...frame, kind: 'pong' }))
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
    this.#scheduleProbe(socket)
  }

  #down(reason: string, err?: unknown): void {
    if (this.#done) return
    this.#release()
    this.#events.onDown(reason, err instanceof Error ? err : undefined)
  }

  #release(): void {
    this.#done = true
    this.#abort.abort()
    clearTimeout(this.#probeTimer)
    for (const { timer } of this.#outstanding.values()) clearTimeout(timer)
    this.#outstanding.clear()
    this.#socket?.destroy()
  }
}

function describe(err: unknown): string {
  if (err instanceof DynproxyError) return err.message
  return err instanceof Error ? err.message : String(err)
}
