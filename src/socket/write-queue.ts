/**
 * In-order writes to a connection for a writer that cannot stop at every refused write: a framed
 * session's acknowledgements and pings, or the bytes it delivers to its local side, whose bound is
 * the credit it granted. A Connection keeps the rest of a refused write itself; what is written
 * after that waits here, chunk by chunk (a Connection would join each one to its backlog, copying
 * everything held at every write), and goes out at the connection's drain, then the FIN if asked.
 */
import type { Connection } from './connection.ts'

export class WriteQueue {
  readonly conn: Connection
  readonly #waiting: Buffer[] = []
  #waitingBytes = 0
  #ending = false

  constructor(conn: Connection) {
    this.conn = conn
  }

  /** Bytes given and not yet taken by the kernel: here, and in the connection's own backlog. */
  get bytes(): number {
    return this.#waitingBytes + this.conn.backlogBytes
  }

  /** End() was asked and everything, the FIN included, has gone to the kernel. */
  get finished(): boolean {
    return this.conn.writeEnded && this.bytes === 0
  }

  /**
   * Writes `chunk` after everything before it; true when the kernel took it all at once. After
   * end() or the connection's close, nothing is taken.
   */
  write(chunk: Buffer): boolean {
    const conn = this.conn
    if (this.#ending || conn.writeEnded || conn.closed) return false
    if (this.#waiting.length > 0 || conn.backlogBytes > 0) {
      this.#waiting.push(chunk)
      this.#waitingBytes += chunk.length
      return false
    }
    return conn.write(chunk)
  }

  /** Half-close once everything written is out. */
  end(): void {
    if (this.#waiting.length > 0) this.#ending = true
    else this.conn.end()
  }

  /** Called at the connection's drain: writes what waits, in order; true once all is out. */
  flush(): boolean {
    const conn = this.conn
    while (this.#waiting.length > 0) {
      const chunk = this.#waiting.shift() as Buffer
      this.#waitingBytes -= chunk.length
      if (!conn.write(chunk)) return false
    }
    if (this.#ending) {
      this.#ending = false
      conn.end()
    }
    return conn.backlogBytes === 0
  }

  /** Forgets what waits (the connection is gone or being reset). */
  clear(): void {
    this.#waiting.length = 0
    this.#waitingBytes = 0
    this.#ending = false
  }
}
