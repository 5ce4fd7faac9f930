/**
 * One TCP or TLS connection on a Bun socket, and the one place that knows Bun's socket rules:
 * - `write()` takes what the kernel takes; the rest waits here (the chunk itself: Bun hands every
 *   read a fresh buffer, so keeping one costs no copy) and goes out on `drain`.
 * - `end()` is a half-close (`shutdown()`: FIN, keep reading); Bun's own `end()` closes the socket.
 * - network errors reach only `close(socket, err)`, and after our own shutdown a plain socket's
 *   peer FIN comes as `close` without `end`: both are sorted out here into one end, one close.
 * - `remotePort` is gone inside `close`: addresses are read once, at open.
 *
 * Per-socket state is this object, kept in `socket.data`; Bun's handlers are shared functions
 * (`connectionHandlers`), so a connection costs no closures. Whoever owns the connection gives it
 * a sink: a plain object of functions with an `owner`, called with the connection.
 *
 * What is read while nobody takes it (no sink yet, or paused) is held in `pending`, along with the
 * peer's FIN and an orderly close, and delivered in order to whoever resumes the connection next:
 * that is how a header reader leaves the bytes after a header to the relay.
 */

import type { X509Certificate } from 'node:crypto'
import type { Socket, SocketHandler } from 'bun'
import { coarseClock } from './clock.ts'
import { type CloseCause, closeCauseOf } from './close-cause.ts'
import { reportFault } from './faults.ts'
import type { Expiring, IdleSweep } from './idle-sweep.ts'

export type { CloseCause }

/** The owner's side of a connection; every callback gets the connection it concerns. */
export interface ConnectionSink<Owner = unknown> {
  readonly owner: Owner
  onData(conn: Connection, chunk: Buffer): void
  /** The peer's FIN: nothing more will be read. */
  onEnd(conn: Connection): void
  /** A write refused earlier (returned false) is out; more may be written. */
  onDrain(conn: Connection): void
  /** Once, last. */
  onClose(conn: Connection, cause: CloseCause): void
}

/** Where a connection came from: a listener or a dial, told of its life before and after ready. */
export interface ConnectionOrigin {
  /** True while a listener closes all its connections: their closes are ours, not their peers'. */
  readonly closingAll: boolean
  /** TLS: the handshake ended; the origin accepts (markReady) or refuses (reset) the connection. */
  handshake(conn: Connection, success: boolean, error: Error | null): void
  /** Closed before it was ready: a failed or timed-out handshake, a peer gone early. */
  lost(conn: Connection): void
  /** Closed after it was ready. */
  released(conn: Connection): void
}

/** What Bun's shared handlers call on `socket.data`. */
export interface SocketEvents {
  onSocketData(chunk: Buffer): void
  onSocketDrain(): void
  onSocketEnd(): void
  onSocketClose(error: Error | undefined): void
  onSocketHandshake(success: boolean, error: Error | null): void
}

export type BunSocket = Socket<SocketEvents>

/** `socket.data` of a socket we no longer own (refused at accept, dialed too late): events go nowhere. */
export const DETACHED: SocketEvents = {
  onSocketData() {},
  onSocketDrain() {},
  onSocketEnd() {},
  onSocketClose() {},
  onSocketHandshake() {},
}

export class Connection implements SocketEvents, Expiring {
  readonly socket: BunSocket
  origin: ConnectionOrigin | undefined
  sink: ConnectionSink | undefined = undefined
  readonly remoteAddress: string
  readonly remotePort: number
  readonly localAddress: string
  readonly localPort: number
  bytesRead = 0
  /** Bytes the kernel took; what waits in the backlog is not counted yet. */
  bytesWritten = 0
  /** From the coarse clock, at each read and each write the kernel took. */
  lastActiveAt: number
  /** The deadline an idle sweep applies; 0 for none. */
  idleTimeoutMs = 0
  /** Bytes read and not delivered yet: they go first to whoever reads next. */
  pending: Buffer | undefined = undefined
  /** False while a TLS handshake is under way: the connection has no owner yet. */
  ready: boolean
  peerEnded = false
  writeEnded = false
  closed = false
  closeCause: CloseCause | undefined = undefined
  closeError: Error | undefined = undefined
  #paused = false
  #socketPaused = false
  #endDelivered = false
  #closeDelivered = false
  #needDrain = false
  #backlog: Buffer | undefined = undefined
  #backlogOffset = 0
  /** Chunks written while a backlog waited: only when a writer ignores a false from write(). */
  #backlogMore: Buffer[] | undefined = undefined
  #finPending = false
  #closePending = false
  /** Set just before we close the socket ourselves, which Bun reports as an orderly close. */
  #ourCause: CloseCause | undefined = undefined
  #sweep: IdleSweep | undefined = undefined

  constructor(socket: BunSocket, origin: ConnectionOrigin | undefined, ready: boolean) {
    this.socket = socket
    this.origin = origin
    this.ready = ready
    this.remoteAddress = socket.remoteAddress
    this.remotePort = socket.remotePort
    this.localAddress = socket.localAddress
    this.localPort = socket.localPort
    this.lastActiveAt = coarseClock.now
  }

  /** Closed, and the close delivered: nothing more will come from this connection. */
  get done(): boolean {
    return this.#closeDelivered
  }

  get paused(): boolean {
    return this.#paused
  }

  /** Bytes given to write() that the kernel has not taken yet. */
  get backlogBytes(): number {
    if (this.#backlog === undefined) return 0
    let total = this.#backlog.length - this.#backlogOffset
    for (const chunk of this.#backlogMore ?? []) total += chunk.length
    return total
  }

  /**
   * Writes what the socket takes and keeps the rest, in order. False while anything waits: the
   * writer should stop until the sink's onDrain. After end(), close() or a close, takes nothing.
   */
  write(chunk: Buffer): boolean {
    if (this.closed || this.writeEnded) return false
    if (this.#backlog !== undefined) {
      this.#queue(chunk)
      return false
    }
    const taken = this.socket.write(chunk)
    if (taken === chunk.length) {
      this.bytesWritten += taken
      this.lastActiveAt = coarseClock.now
      return true
    }
    if (taken < 0) {
      this.#writeFailed()
      return false
    }
    if (taken > 0) {
      this.bytesWritten += taken
      this.lastActiveAt = coarseClock.now
    }
    this.#backlog = chunk
    this.#backlogOffset = taken
    this.#needDrain = true
    return false
  }

  /** Half-close: FIN once the backlog is out; reading goes on. */
  end(): void {
    if (this.closed || this.writeEnded) return
    this.writeEnded = true
    if (this.#backlog !== undefined) this.#finPending = true
    else this.socket.shutdown()
  }

  /** Full close, orderly: the backlog goes out, then FIN; nothing more is read. */
  close(): void {
    if (this.closed) return
    if (this.#backlog !== undefined) {
      this.writeEnded = true
      this.#closePending = true
      this.pause()
      return
    }
    this.#closeSocket('local')
  }

  /** Abortive close: RST, the backlog dropped. */
  reset(): void {
    if (this.closed) return
    this.#ourCause ??= 'local'
    this.socket.terminate()
  }

  pause(): void {
    this.#paused = true
    this.#pauseSocket()
  }

  /** Delivers what is held (bytes, FIN, close) to the sink, then reads on. */
  resume(): void {
    this.#paused = false
    if (this.sink === undefined || this.#closeDelivered) return
    if (this.#holds() && !this.#deliver()) return
    if (this.#socketPaused && !this.closed) {
      this.#socketPaused = false
      this.socket.resume()
    }
  }

  /** Puts bytes back in front of anything pending: the next reader gets them first. */
  unshift(bytes: Buffer): void {
    if (bytes.length === 0) return
    this.pending = this.pending === undefined ? bytes : Buffer.concat([bytes, this.pending])
  }

  /** Leaves the connection to its next owner: no sink, paused, everything held. */
  detach(): void {
    this.sink = undefined
    this.pause()
  }

  /** Closes the connection once it has been idle `timeoutMs` (reads and writes both count). */
  watchIdle(sweep: IdleSweep, timeoutMs: number): void {
    this.#unwatch()
    this.idleTimeoutMs = timeoutMs
    if (this.closed || timeoutMs <= 0) return
    this.#sweep = sweep
    sweep.add(this)
    this.lastActiveAt = coarseClock.now
  }

  /** The sweep's verdict: closed as idle (a connection still in its TLS handshake is reset). */
  expire(): void {
    if (this.closed) return
    if (this.ready) return void this.#closeSocket('idle')
    this.#ourCause ??= 'idle'
    this.socket.terminate()
  }

  /** The TLS handshake is accepted: the connection may now be handed to an owner. */
  markReady(): void {
    this.ready = true
    this.idleTimeoutMs = 0
    this.#unwatch()
  }

  get authorized(): boolean {
    return this.socket.authorized
  }

  /** The peer's TLS certificate while the connection is open; undefined on plain TCP or without one. */
  peerCertificate(): X509Certificate | undefined {
    return this.socket.getPeerX509Certificate() ?? undefined
  }

  /** The server name a TLS client asked for (SNI). */
  serverName(): string | undefined {
    return this.socket.getServername() || undefined
  }

  onSocketData(chunk: Buffer): void {
    this.bytesRead += chunk.length
    this.lastActiveAt = coarseClock.now
    const sink = this.sink
    if (sink === undefined || this.#paused || this.pending !== undefined) return void this.#hold(chunk)
    sink.onData(this, chunk)
  }

  onSocketDrain(): void {
    if (this.#backlog !== undefined && !this.#flush()) return
    if (this.#closePending) return void this.#closeSocket('local')
    if (this.#finPending) {
      this.#finPending = false
      this.socket.shutdown()
      if (this.closed) return
    }
    if (!this.#needDrain) return
    this.#needDrain = false
    this.sink?.onDrain(this)
  }

  onSocketEnd(): void {
    this.peerEnded = true
    const sink = this.sink
    if (sink === undefined || this.pending !== undefined) return
    this.#endDelivered = true
    sink.onEnd(this)
  }

  onSocketClose(error: Error | undefined): void {
    if (this.closed) return
    this.closed = true
    const cause = closeCauseOf(error, this.#ourCause ?? (this.origin?.closingAll ? 'local' : undefined))
    this.closeCause = cause
    this.closeError ??= error
    // An orderly close is the peer's end, also when Bun skipped `end` after our own shutdown.
    if (cause === 'peer') this.peerEnded = true
    this.#backlog = undefined
    this.#backlogMore = undefined
    this.#unwatch()
    if (!this.ready) return void this.origin?.lost(this)
    this.origin?.released(this)
    this.#deliver()
  }

  onSocketHandshake(success: boolean, error: Error | null): void {
    this.origin?.handshake(this, success, error)
  }

  /** One of our handlers threw on this connection: it is reset, and the process lives on. */
  onHandlerFault(error: Error): void {
    reportFault(error)
    if (this.closed) return
    this.closeError = error
    this.#ourCause ??= 'reset'
    try {
      this.socket.terminate()
    } catch (err) {
      reportFault(err)
    }
  }

  #unwatch(): void {
    this.#sweep?.delete(this)
    this.#sweep = undefined
  }

  #closeSocket(cause: CloseCause): void {
    this.#ourCause ??= cause
    this.socket.end()
  }

  /** write() got -1 on a socket we had not shut: the peer reset it. */
  #writeFailed(): void {
    this.#ourCause ??= 'reset'
    this.socket.terminate()
  }

  #queue(chunk: Buffer): void {
    if (this.#backlogMore === undefined) this.#backlogMore = [chunk]
    else this.#backlogMore.push(chunk)
  }

  /** Writes the backlog; true once it is all out. */
  #flush(): boolean {
    while (this.#backlog !== undefined) {
      const chunk = this.#backlog
      const offset = this.#backlogOffset
      const length = chunk.length - offset
      // Bun's write(buf, offset) without a length throws: always pass both.
      const taken = this.socket.write(chunk, offset, length)
      if (taken < 0) {
        this.#writeFailed()
        return false
      }
      if (taken > 0) {
        this.bytesWritten += taken
        this.lastActiveAt = coarseClock.now
      }
      if (taken < length) {
        this.#backlogOffset = offset + taken
        return false
      }
      this.#backlog = this.#backlogMore?.shift()
      this.#backlogOffset = 0
      if (this.#backlogMore?.length === 0) this.#backlogMore = undefined
    }
    return true
  }

  #hold(chunk: Buffer): void {
    this.pending = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk])
    this.#pauseSocket()
  }

  #pauseSocket(): void {
    if (this.#socketPaused || this.closed) return
    this.#socketPaused = true
    this.socket.pause()
  }

  #holds(): boolean {
    return this.pending !== undefined || (this.peerEnded && !this.#endDelivered) || this.closed
  }

  /**
   * Delivers what is held, in order: bytes, the FIN, the close. A pause stops it, except once the
   * peer has closed in order: nothing more can be read then, and what is held is already in memory.
   * After a reset, an idle expiry or our own close, held bytes and FIN are dropped. True when all
   * was delivered and the same sink still reads.
   */
  #deliver(): boolean {
    const sink = this.sink
    if (sink === undefined) return false
    const orderly = !this.closed || this.closeCause === 'peer'
    if (!orderly) this.pending = undefined
    if (this.pending !== undefined) {
      if (this.#paused && !this.closed) return false
      const held = this.pending
      this.pending = undefined
      sink.onData(this, held)
      if (this.sink !== sink) return false
    }
    if (orderly && this.peerEnded && !this.#endDelivered) {
      this.#endDelivered = true
      sink.onEnd(this)
      if (this.sink !== sink) return false
    }
    if (this.closed && !this.#closeDelivered) {
      this.#closeDelivered = true
      sink.onClose(this, this.closeCause as CloseCause)
    }
    return this.sink === sink && !this.#paused
  }
}

/** Bun's handlers for an open connection: shared by every socket, state found in `socket.data`. */
export const connectionHandlers = {
  binaryType: 'buffer',
  data(socket: BunSocket, chunk: Buffer) {
    socket.data.onSocketData(chunk)
  },
  drain(socket: BunSocket) {
    socket.data.onSocketDrain()
  },
  end(socket: BunSocket) {
    socket.data.onSocketEnd()
  },
  close(socket: BunSocket, error?: Error) {
    socket.data.onSocketClose(error)
  },
  // Without this handler an exception in any handler ends the process.
  error(socket: BunSocket, error: Error) {
    const events = socket.data
    if (events instanceof Connection) return events.onHandlerFault(error)
    reportFault(error)
    socket.terminate()
  },
} satisfies SocketHandler<SocketEvents, 'buffer'>
