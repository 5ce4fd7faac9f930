/**
 * The splice of a flow's two connections: each side's bytes are written to the other; a write that
 * leaves a backlog pauses the reader until the writer drains (so a flow holds at most one read's
 * chunk per direction); a FIN goes on as a FIN once what came before it is out; a reset goes on as
 * a reset; an idle expiry, or a close by anyone but the relay, closes both. When both sides have
 * closed, `hooks.finished` is called once.
 *
 * The Relay is the sink of both connections: one object per flow, its methods shared, no closures.
 * Bytes a header reader left pending, a FIN or a close that came before the splice (a client gone
 * while the upstream was dialed) are delivered first, in order, when the relay resumes each side.
 */
import type { CloseCause, Connection, ConnectionSink } from './connection.ts'

export type RelaySide = 'downstream' | 'upstream'

export type RelayOutcome =
  | 'downstream_closed'
  | 'upstream_closed'
  | 'downstream_reset'
  | 'upstream_reset'
  | 'idle_timeout'

export interface RelayHooks<Owner> {
  /** Once, after both connections have closed. */
  finished(relay: Relay<Owner>): void
}

/**
 * How a spliced flow ended: a reset first (its side), else an idle expiry, else the side whose FIN
 * came first (downstream when neither sent one: both closed together).
 */
export function relayOutcome(
  firstEnd: RelaySide | undefined,
  resetBy: RelaySide | undefined,
  idle: boolean,
): RelayOutcome {
  if (resetBy !== undefined) return resetBy === 'upstream' ? 'upstream_reset' : 'downstream_reset'
  if (idle) return 'idle_timeout'
  return firstEnd === 'upstream' ? 'upstream_closed' : 'downstream_closed'
}

const OPEN_SIDES = 0b11
const IDLE = 1 << 2
const ABORTING = 1 << 3

export class Relay<Owner = unknown> implements ConnectionSink<Owner> {
  readonly owner: Owner
  readonly down: Connection
  readonly up: Connection
  readonly hooks: RelayHooks<Owner>
  /** Whose FIN came first. */
  firstEnd: RelaySide | undefined = undefined
  /** The side that reset (or failed) first; the other was reset because of it. */
  resetBy: RelaySide | undefined = undefined
  /** Sides still open (two bits) and the IDLE and ABORTING flags: 8 fields keep a Relay in an 80-byte cell. */
  #state = 2

  constructor(down: Connection, up: Connection, hooks: RelayHooks<Owner>, owner: Owner) {
    this.down = down
    this.up = up
    this.hooks = hooks
    this.owner = owner
  }

  /** A side was closed by its idle sweep. */
  get idle(): boolean {
    return (this.#state & IDLE) !== 0
  }

  get outcome(): RelayOutcome {
    return relayOutcome(this.firstEnd, this.resetBy, this.idle)
  }

  onData(conn: Connection, chunk: Buffer): void {
    const other = this.#other(conn)
    if (other.write(chunk)) return
    // Bytes for a side already gone can go nowhere: the sender must not believe them delivered.
    if (other.closed) conn.reset()
    else conn.pause()
  }

  /** `conn` took its backlog: whoever writes into it may read again. */
  onDrain(conn: Connection): void {
    this.#other(conn).resume()
  }

  onEnd(conn: Connection): void {
    this.firstEnd ??= this.#side(conn)
    this.#other(conn).end()
  }

  onClose(conn: Connection, cause: CloseCause): void {
    const other = this.#other(conn)
    if (cause === 'reset') {
      this.resetBy ??= this.#side(conn)
      other.reset()
    } else if (cause === 'idle') {
      this.#state |= IDLE
      other.close()
    } else if (cause === 'local' && (this.#state & ABORTING) === 0) {
      // Closed by someone else than the relay (its listener stopped with its connections): the flow is over.
      other.close()
    }
    this.#state--
    if ((this.#state & OPEN_SIDES) === 0) this.hooks.finished(this)
  }

  /** Ends the flow now, whatever its state: both sides reset. */
  reset(): void {
    this.#state |= ABORTING
    this.down.reset()
    this.up.reset()
  }

  #other(conn: Connection): Connection {
    return conn === this.down ? this.up : this.down
  }

  #side(conn: Connection): RelaySide {
    return conn === this.down ? 'downstream' : 'upstream'
  }
}

/**
 * Splices `down` and `up`; the owner keeps the returned Relay (`outcome`, the connections' byte
 * counts). Idle timeouts stay with the owner: `down.watchIdle(sweep)` covers the whole flow,
 * since every byte is read from or written to the downstream connection.
 */
export function relay<Owner>(
  down: Connection,
  up: Connection,
  hooks: RelayHooks<Owner>,
  owner: Owner,
): Relay<Owner> {
  const spliced = new Relay(down, up, hooks, owner)
  down.sink = spliced
  up.sink = spliced
  up.resume()
  down.resume()
  return spliced
}
