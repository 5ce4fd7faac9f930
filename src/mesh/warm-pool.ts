/**
 * Idle, pre-connected (and TLS-handshaken) data connections to one peer, so a flow skips the
 * connect and handshake round trips.
 *
 * Invariants: idle + opening ≤ size, always; every idle connection has a timer that closes it
 * after `idleTimeoutMs` unused; a connection that speaks while idle (the peer sent bytes, FIN or
 * RST: nothing is expected before our header) is discarded at once. The pool fills only when told
 * (`fill()`: the peer came up, or a connection was taken), so a peer without traffic holds no warm
 * connections once they expire. `clear()` closes everything and makes connections still being
 * opened close on arrival.
 */
import type { CloseCause, Connection, ConnectionSink } from '../socket/connection.ts'

export interface WarmPoolOptions {
  readonly size: number
  readonly idleTimeoutMs: number
  readonly open: () => Promise<Connection>
  /** A warm connection could not be opened; the pool retries at the next fill(). */
  readonly onOpenError: (err: unknown) => void
}

export interface WarmPoolStats {
  readonly idle: number
  readonly opening: number
  /** dial() served from the pool. */
  readonly hits: number
  /** dial() found no live warm connection and dialed fresh. */
  readonly misses: number
  /** Warm connections opened, closed idle, or found dead. */
  readonly opened: number
  readonly expired: number
  readonly discarded: number
}

/** One idle connection: its sink while it waits, so that anything it hears discards it. */
class Idle implements ConnectionSink<WarmPool> {
  readonly owner: WarmPool
  readonly conn: Connection
  readonly timer: ReturnType<typeof setTimeout>

  constructor(owner: WarmPool, conn: Connection, idleTimeoutMs: number) {
    this.owner = owner
    this.conn = conn
    this.timer = setTimeout(expire, idleTimeoutMs, this)
  }

  onData(): void {
    this.owner.remove(this, 'discarded')
  }

  onEnd(): void {
    this.owner.remove(this, 'discarded')
  }

  onDrain(): void {}

  onClose(_conn: Connection, _cause: CloseCause): void {
    this.owner.remove(this, 'discarded')
  }
}

function expire(entry: Idle): void {
  entry.owner.remove(entry, 'expired')
}

export class WarmPool {
  readonly #opts: WarmPoolOptions
  readonly #idle: Idle[] = []
  #opening = 0
  #epoch = 0
  #hits = 0
  #misses = 0
  #opened = 0
  #expired = 0
  #discarded = 0

  constructor(options: WarmPoolOptions) {
    this.#opts = options
  }

  /** The newest live idle connection, no longer the pool's; undefined when none. */
  take(): Connection | undefined {
    for (let entry = this.#idle.pop(); entry !== undefined; entry = this.#idle.pop()) {
      this.#release(entry)
      const conn = entry.conn
      if (!conn.closed && !conn.peerEnded && !conn.writeEnded && conn.pending === undefined) {
        this.#hits++
        return conn
      }
      this.#discarded++
      conn.closeNow()
    }
    this.#misses++
    return undefined
  }

  fill(): void {
    const epoch = this.#epoch
    while (this.#idle.length + this.#opening < this.#opts.size) {
      this.#opening++
      this.#opts.open().then(
        (conn) => {
          this.#opening--
          if (epoch !== this.#epoch) conn.closeNow()
          else this.#add(conn)
        },
        (err: unknown) => {
          this.#opening--
          if (epoch === this.#epoch) this.#opts.onOpenError(err)
        },
      )
    }
  }

  /** Closes every idle connection; connections still opening close on arrival. */
  clear(): void {
    this.#epoch++
    for (const entry of this.#idle.splice(0)) {
      this.#release(entry)
      entry.conn.closeNow()
    }
  }

  stats(): WarmPoolStats {
    return {
      idle: this.#idle.length,
      opening: this.#opening,
      hits: this.#hits,
      misses: this.#misses,
      opened: this.#opened,
      expired: this.#expired,
      discarded: this.#discarded,
    }
  }

  /** An idle connection expired or spoke: it leaves the pool, closed. */
  remove(entry: Idle, counted: 'expired' | 'discarded'): void {
    const i = this.#idle.indexOf(entry)
    if (i === -1) return
    this.#idle.splice(i, 1)
    this.#release(entry)
    if (counted === 'expired') this.#expired++
    else this.#discarded++
    entry.conn.closeNow()
  }

  #add(conn: Connection): void {
    this.#opened++
    const entry = new Idle(this, conn, this.#opts.idleTimeoutMs)
    this.#idle.push(entry)
    conn.sink = entry
    conn.resume()
  }

  #release(entry: Idle): void {
    clearTimeout(entry.timer)
    if (entry.conn.sink === entry) entry.conn.detach()
  }
}
