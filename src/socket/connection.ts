/**
 * One TCP or TLS connection on a Bun socket, and the one place that knows Bun's socket rules:
 * - `write()` takes what the kernel takes; the rest waits here (the chunk itself: Bun hands every
 *   read a fresh buffer, so keeping one costs no copy) and goes out on `drain`.
 * - `end()` is a half-close (`shutdown()`: FIN, keep reading); Bun's own `end()` closes the socket.
 * - network errors reach only `close(socket, err)`, and after our own shutdown a plain socket's
 *   peer FIN comes as `close` without `end`: both are sorted out here into one end, one close.
 * - Bun's address getters cost a system call each and are empty at `close`: they are read once,
 *   when first asked for, and kept.
 *
 * Per-socket state is this object, kept in `socket.data`; Bun's handlers are shared functions
 * (`handlers.ts`), so a connection costs no closures. Whoever owns the connection gives it
 * a sink: a plain object of functions with an `owner`, called with the connection.
 *
 * What is read while nobody takes it (no sink yet, or paused) is held in `pending`, along with the
 * peer's FIN and an orderly close, and delivered in order to whoever resumes the connection next:
 * that is how a header reader leaves the bytes after a header to the relay.
 */

import type { X509Certificate } from 'node:crypto'
import { coarseClock } from './clock.ts'
import { type CloseCause, closeCauseOf } from './close-cause.ts'
import type { BunSocket, SocketEvents } from './events.ts'
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

const READY = 1
const PEER_ENDED = 1 << 1
const WRITE_ENDED = 1 << 2
const CLOSED = 1 << 3
const PAUSED = 1 << 4
const SOCKET_PAUSED = 1 << 5
const END_DELIVERED = 1 << 6
const CLOSE_DELIVERED = 1 << 7
const NEED_DRAIN = 1 << 8
const FIN_PENDING = 1 << 9
const CLOSE_PENDING = 1 << 10
const CAUSE_SHIFT = 11
const CAUSE_MASK = 0b111 << CAUSE_SHIFT
const CAUSE_CODES: Readonly<Record<CloseCause, number>> = { peer: 1, reset: 2, idle: 3, local: 4 }
const CAUSES: readonly (CloseCause | undefined)[] = [undefined, 'peer', 'reset', 'idle', 'local']

/** What a connection without an owner may hold before its socket is paused; one read can add 512 KiB. */
export const HOLD_UNPAUSED_BYTES = 64 * 1024

/** Both ends of a connection, read from the socket once, on first demand. */
export interface ConnectionAddresses {
  readonly remoteAddress: string | undefined
  readonly remotePort: number | undefined
  readonly localAddress: string | undefined
  readonly localPort: number | undefined
}

/** What few connections ever have, in an object made when the first of it is set. */
interface Details {
  closeError: Error | undefined
  addresses: ConnectionAddresses | undefined
}

const NO_ADDRESSES: ConnectionAddresses = {
  remoteAddress: undefined,
  remotePort: undefined,
  localAddress: undefined,
  localPort: undefined,
}

export class Connection implements SocketEvents, Expiring {
  readonly socket: BunSocket
  origin: ConnectionOrigin | undefined
  sink: ConnectionSink | undefined = undefined
  bytesRead = 0
  /** Bytes the kernel took; what waits in the backlog is not counted yet. */
  bytesWritten = 0
  /** From the coarse clock, at each read and each write the kernel took. */
  lastActiveAt: number
  /** Bytes read and not delivered yet: they go first to whoever reads next. */
  pending: Buffer | undefined = undefined
  /**
   * The state's booleans and the close cause, in bits. An idle connection's size is the data
   * path's memory, and JSC gives an object of up to 12 fields a 112-byte cell, of 13 to 16 a
   * 160-byte one. Before the close, the cause is the one we give when we close the socket
   * ourselves, which Bun reports as an orderly close.
   */
  #flags: number
  #backlog: Buffer | undefined = undefined
  #backlogOffset = 0
  #sweep: IdleSweep | undefined = undefined
  #details: Details | undefined = undefined

  constructor(socket: BunSocket, origin: ConnectionOrigin | undefined, ready: boolean) {
    this.socket = socket
    this.origin = origin
    this.#flags = ready ? READY : 0
    this.lastActiveAt = coarseClock.now
  }

  /**
   * Read on first demand, then kept: each of Bun's address getters costs microseconds (a system
   * call and a new string), a tenth of what a whole relayed connection costs, and the relay needs
   * none. Bun forgets them at the close: an owner that logs them reads them while the connection
   * is open (at accept, say).
   */
  addresses(): ConnectionAddresses {
    const known = this.#details?.addresses
    if (known !== undefined) return known
    if (this.closed) return NO_ADDRESSES
    const socket = this.socket
    const addresses = {
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      localAddress: socket.localAddress,
      localPort: socket.localPort,
    }
    this.#detailsOf().addresses = addresses
    return addresses
  }

  get remoteAddress(): string | undefined {
    return this.addresses().remoteAddress
  }

  get remotePort(): number | undefined {
    return this.addresses().remotePort
  }

  /** False while a TLS handshake is under way: the connection has no owner yet. */
  get ready(): boolean {
    return (this.#flags & READY) !== 0
  }

  /** The peer's FIN came (or an orderly close, which implies it). */
  get peerEnded(): boolean {
    return (this.#flags & PEER_ENDED) !== 0
  }

  /** end() or close() was called: nothing more is written. */
  get writeEnded(): boolean {
    return (this.#flags & WRITE_ENDED) !== 0
  }

  get closed(): boolean {
    return (this.#flags & CLOSED) !== 0
  }

  /** Closed, or a close of ours under way (the cause it will close with is set). */
  get closing(): boolean {
    return (this.#flags & CAUSE_MASK) !== 0
  }

  get closeCause(): CloseCause | undefined {
    return this.closed ? this.#cause : undefined
  }

  /** The error the connection closed with: the peer's reset, or a fault of our handlers. */
  get closeError(): Error | undefined {
    return this.#details?.closeError
  }

  /** Closed, and the close delivered: nothing more will come from this connection. */
  get done(): boolean {
    return (this.#flags & CLOSE_DELIVERED) !== 0
  }

  get paused(): boolean {
    return (this.#flags & PAUSED) !== 0
  }

  /** Bytes given to write() that the kernel has not taken yet. */
  get backlogBytes(): number {
    return this.#backlog === undefined ? 0 : this.#backlog.length - this.#backlogOffset
  }

  /**
   * Writes what the socket takes and keeps the rest, in order. False while anything waits: the
   * writer should stop until the sink's onDrain. After end(), close() or a close, takes nothing.
   */
  write(chunk: Buffer): boolean {
    if ((this.#flags & (CLOSED | WRITE_ENDED)) !== 0) return false
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
    this.#flags |= NEED_DRAIN
    return false
  }

  /** Half-close: FIN once the backlog is out; reading goes on (until the peer's FIN, which closes it). */
  end(): void {
    if ((this.#flags & (CLOSED | WRITE_ENDED)) !== 0) return
    this.#flags |= WRITE_ENDED
    if (this.#backlog !== undefined) this.#flags |= FIN_PENDING
    else this.#shutdown()
  }

  /** Full close, orderly: the backlog goes out, then FIN; nothing more is read. */
  close(): void {
    if (this.closed) return
    if (this.#backlog !== undefined) {
      this.#flags |= WRITE_ENDED | CLOSE_PENDING
      this.pause()
      return
    }
    this.#closeSocket('local')
  }

  /**
   * Full close at once: what waits in the backlog is dropped, then FIN (what the kernel holds still
   * goes out first); nothing more is read. For a close that must not wait on a peer that stopped
   * reading (an idle expiry, a drain's deadline).
   */
  closeNow(): void {
    if (this.closed) return
    this.#backlog = undefined
    this.#backlogOffset = 0
    this.#closeSocket('local')
  }

  /** Abortive close: RST, the backlog dropped. */
  reset(): void {
    if (this.closed) return
    this.#causeOnce('local')
    this.socket.terminate()
  }

  pause(): void {
    this.#flags |= PAUSED
    this.#pauseSocket()
  }

  /** Delivers what is held (bytes, FIN, close) to the sink, then reads on. */
  resume(): void {
    this.#flags &= ~PAUSED
    if (this.sink === undefined || this.done) return
    if (this.#holds() && !this.#deliver()) return
    if ((this.#flags & (SOCKET_PAUSED | CLOSED)) === SOCKET_PAUSED) {
      this.#flags &= ~SOCKET_PAUSED
      this.socket.resume()
    }
  }

  /** Puts bytes back in front of anything pending: the next reader gets them first. */
  unshift(bytes: Buffer): void {
    if (bytes.length === 0) return
    this.pending = this.pending === undefined ? bytes : Buffer.concat([bytes, this.pending])
  }

  /**
   * Leaves the connection to its next owner, as a new one is: no sink, and what arrives is held
   * (the socket paused only past HOLD_UNPAUSED_BYTES), to be delivered when the next owner resumes.
   */
  detach(): void {
    this.sink = undefined
    this.#flags &= ~PAUSED
  }

  /** Closes the connection once it has been idle the sweep's timeout (reads and writes both count). */
  watchIdle(sweep: IdleSweep): void {
    this.#unwatch()
    if (this.closed) return
    this.#sweep = sweep
    sweep.add(this)
    this.lastActiveAt = coarseClock.now
  }

  /** The sweep's verdict: closed as idle, the backlog dropped (nothing moved it for the whole timeout). */
  expire(): void {
    if (this.closed) return
    this.#backlog = undefined
    this.#closeSocket('idle')
  }

  /** The TLS handshake is accepted: the connection may now be handed to an owner. */
  markReady(): void {
    this.#flags |= READY
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
    if (sink === undefined || (this.#flags & PAUSED) !== 0 || this.pending !== undefined) {
      return void this.#hold(chunk)
    }
    sink.onData(this, chunk)
  }

  onSocketDrain(): void {
    if (this.#backlog !== undefined && !this.#flush()) return
    const flags = this.#flags
    if ((flags & CLOSE_PENDING) !== 0) return void this.#closeSocket('local')
    if ((flags & FIN_PENDING) !== 0) {
      this.#flags &= ~FIN_PENDING
      this.#shutdown()
      if (this.closed) return
    }
    if ((this.#flags & NEED_DRAIN) === 0) return
    this.#flags &= ~NEED_DRAIN
    this.sink?.onDrain(this)
  }

  onSocketEnd(): void {
    this.#flags |= PEER_ENDED
    const sink = this.sink
    if (sink === undefined || this.pending !== undefined) return
    this.#flags |= END_DELIVERED
    sink.onEnd(this)
  }

  onSocketClose(error: Error | undefined): void {
    if (this.closed) return
    const cause = closeCauseOf(error, this.#cause ?? (this.origin?.closingAll ? 'local' : undefined))
    this.#causeOnce(cause)
    // An orderly close is the peer's end, also when Bun skipped `end` after our own shutdown.
    this.#flags = (this.#flags | CLOSED | (cause === 'peer' ? PEER_ENDED : 0)) & ~SOCKET_PAUSED
    if (error !== undefined && this.closeError === undefined) this.#detailsOf().closeError = error
    this.#backlog = undefined
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
    this.#detailsOf().closeError = error
    this.#causeOnce('reset')
    try {
      this.socket.terminate()
    } catch (err) {
      reportFault(err)
    }
  }

  get #cause(): CloseCause | undefined {
    return CAUSES[(this.#flags & CAUSE_MASK) >> CAUSE_SHIFT]
  }

  /** The first cause given stays: a reset during our own close is still our close. */
  #causeOnce(cause: CloseCause): void {
    if ((this.#flags & CAUSE_MASK) === 0) this.#flags |= CAUSE_CODES[cause] << CAUSE_SHIFT
  }

  #detailsOf(): Details {
    this.#details ??= { closeError: undefined, addresses: undefined }
    return this.#details
  }

  #unwatch(): void {
    this.#sweep?.delete(this)
    this.#sweep = undefined
  }

  #closeSocket(cause: CloseCause): void {
    this.#causeOnce(cause)
    this.socket.end()
  }

  /**
   * Our FIN. When the peer's came already, both directions are over: the socket is closed now (what
   * the kernel holds still goes out first), not whenever Bun would notice, so that the close is
   * known as soon as the exchange ends.
   */
  #shutdown(): void {
    if ((this.#flags & PEER_ENDED) !== 0) return void this.#closeSocket('peer')
    this.socket.shutdown()
  }

  /** write() got -1 on a socket we had not shut: the peer reset it. */
  #writeFailed(): void {
    this.#causeOnce('reset')
    this.socket.terminate()
  }

  /** Only a writer that ignored a false from write() gets here: the backlog is joined with the chunk. */
  #queue(chunk: Buffer): void {
    const rest = (this.#backlog as Buffer).subarray(this.#backlogOffset)
    this.#backlog = Buffer.concat([rest, chunk])
    this.#backlogOffset = 0
  }

  /** Writes the backlog; true once it is all out. */
  #flush(): boolean {
    const chunk = this.#backlog as Buffer
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
    this.#backlog = undefined
    this.#backlogOffset = 0
    return true
  }

  /**
   * Keeps what nobody takes yet. Paused by its owner, the socket stops at once; with no owner yet
   * (a client that speaks before its upstream is connected, as most do), it reads on up to
   * HOLD_UNPAUSED_BYTES, which spares the two system calls of a pause and a resume per flow.
   */
  #hold(chunk: Buffer): void {
    this.pending = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk])
    if (this.sink === undefined && !this.paused && this.pending.length <= HOLD_UNPAUSED_BYTES) return
    this.#pauseSocket()
  }

  #pauseSocket(): void {
    if ((this.#flags & (SOCKET_PAUSED | CLOSED)) !== 0) return
    this.#flags |= SOCKET_PAUSED
    this.socket.pause()
  }

  #holds(): boolean {
    const flags = this.#flags
    return this.pending !== undefined || (flags & (PEER_ENDED | END_DELIVERED)) === PEER_ENDED || this.closed
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
    const closed = this.closed
    const orderly = !closed || this.#cause === 'peer'
    if (!orderly) this.pending = undefined
    if (this.pending !== undefined) {
      if (this.paused && !closed) return false
      const held = this.pending
      this.pending = undefined
      sink.onData(this, held)
      if (this.sink !== sink) return false
    }
    if (orderly && (this.#flags & (PEER_ENDED | END_DELIVERED)) === PEER_ENDED) {
      this.#flags |= END_DELIVERED
      sink.onEnd(this)
      if (this.sink !== sink) return false
    }
    if (closed && !this.done) {
      this.#flags |= CLOSE_DELIVERED
      sink.onClose(this, this.#cause as CloseCause)
    }
    return this.sink === sink && !this.paused
  }
}
