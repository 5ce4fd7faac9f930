/**
 * Idle, pre-connected (and TLS-handshaken) data connections to one peer, so a flow skips the
 * connect and handshake round trips.
 *
 * Invariants: idle + opening ≤ size, always; every idle socket has a timer that closes it after
 * `idleTimeoutMs` unused; a socket that becomes readable while idle (the peer sent bytes, FIN or
 * RST: nothing is expected before our header) is discarded at once. The pool fills only when told
 * (`fill()`: the peer came up, or a socket was taken), so a peer without traffic holds no warm
 * sockets once they expire. `clear()` closes everything and makes sockets still being opened
 * close on arrival.
 */
import type { Socket } from 'node:net'

export interface WarmPoolOptions {
  readonly size: number
  readonly idleTimeoutMs: number
  readonly open: () => Promise<Socket>
  /** A warm socket could not be opened; the pool retries at the next fill(). */
  readonly onOpenError: (err: unknown) => void
}

export interface WarmPoolStats {
  readonly idle: number
  readonly opening: number
  /** dial() served from the pool. */
  readonly hits: number
  /** dial() found no live warm socket and dialed fresh. */
  readonly misses: number
  /** Warm sockets opened, closed idle, or found dead. */
  readonly opened: number
  readonly expired: number
  readonly discarded: number
}

interface Idle {
  readonly socket: Socket
  readonly timer: NodeJS.Timeout
  readonly onGone: () => void
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

  /** The newest live idle socket, with every listener of the pool removed; undefined when none. */
  take(): Socket | undefined {
    for (let entry = this.#idle.pop(); entry !== undefined; entry = this.#idle.pop()) {
      this.#release(entry)
      const s = entry.socket
      if (!s.destroyed && !s.readableEnded && s.writable && s.readableLength === 0) {
        this.#hits++
        return s
      }
      this.#discarded++
      discard(s)
    }
    this.#misses++
    return undefined
  }

  fill(): void {
    const epoch = this.#epoch
    while (this.#idle.length + this.#opening < this.#opts.size) {
      this.#opening++
      this.#opts.open().then(
        (socket) => {
          this.#opening--
          if (epoch !== this.#epoch) discard(socket)
          else this.#add(socket)
        },
        (err: unknown) => {
          this.#opening--
          if (epoch === this.#epoch) this.#opts.onOpenError(err)
        },
      )
    }
  }

  /** Closes every idle socket (returned, to await their close); sockets still opening close on arrival. */
  clear(): Socket[] {
    this.#epoch++
    const sockets = this.#idle.splice(0).map((entry) => {
      this.#release(entry)
      discard(entry.socket)
      return entry.socket
    })
    return sockets
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

  #add(socket: Socket): void {
    this.#opened++
    const remove = (counted: 'expired' | 'discarded') => {
      const i = this.#idle.indexOf(entry)
      if (i === -1) return
      this.#idle.splice(i, 1)
      this.#release(entry)
      if (counted === 'expired') this.#expired++
      else this.#discarded++
      discard(socket)
    }
    const onGone = () => remove('discarded')
    const entry: Idle = {
      socket,
      onGone,
      timer: setTimeout(() => remove('expired'), this.#opts.idleTimeoutMs),
    }
    socket.once('readable', onGone)
    socket.once('close', onGone)
    socket.once('error', onGone)
    this.#idle.push(entry)
  }

  #release(entry: Idle): void {
    clearTimeout(entry.timer)
    entry.socket.off('readable', entry.onGone)
    entry.socket.off('close', entry.onGone)
    entry.socket.off('error', entry.onGone)
  }
}

/** An error the socket may still emit after this has nothing left to act on. */
function discard(socket: Socket): void {
  socket.on('error', () => {})
  socket.destroy()
}
