/**
 * Takes a header off the start of a connection: `decode` says value and length, or how many more
 * bytes it needs; what follows the header stays in the connection's `pending` for the next reader.
 * The same contract as `util/read-header.ts` has for node:net sockets: the reader owns the
 * connection only while its promise is pending, never closes it, and leaves it detached in every
 * outcome (what arrives meanwhile is held for the next owner).
 *
 * Bytes are gathered with `Gather`: each copied a bounded number of times however small the pieces
 * a peer sends, and a header whole in its first chunk not copied at all.
 */
import { SocketHeaderTooLongError } from '../errors/socket.ts'
import type { HeaderDecoded, HeaderReading } from '../util/read-header.ts'
import type { Connection, ConnectionSink } from './connection.ts'
import { reportFault } from './faults.ts'
import { Gather } from './gather.ts'

export type { HeaderDecoded }

export interface ConnectionHeaderReading<T> extends HeaderReading<T> {
  /** What the header is, for the too-long error. */
  readonly what?: string
  /** The most bytes a header may need: beyond, `tooLong`'s error or SocketHeaderTooLongError. */
  readonly maxBytes?: number
}

export interface HeaderResult<T> {
  readonly value: T
  /** The header's bytes. */
  readonly raw: Buffer
}

export const DEFAULT_HEADER_MAX_BYTES = 64 * 1024

class HeaderRead<T> implements ConnectionSink<undefined> {
  readonly owner = undefined
  readonly conn: Connection
  readonly reading: ConnectionHeaderReading<T>
  readonly settle = Promise.withResolvers<HeaderResult<T>>()
  readonly timer: ReturnType<typeof setTimeout>
  readonly #gathered = new Gather()
  #wanted = 1
  #done = false

  constructor(conn: Connection, reading: ConnectionHeaderReading<T>) {
    this.conn = conn
    this.reading = reading
    this.timer = setTimeout(headerTimedOut, reading.timeoutMs, this)
  }

  onData(_conn: Connection, chunk: Buffer): void {
    const bytes = this.#gathered.append(chunk)
    if (bytes.length < this.#wanted) return
    let result: HeaderDecoded<T>
    try {
      result = this.reading.decode(bytes)
    } catch (err) {
      return void this.fail(err as Error)
    }
    if ('value' in result) return void this.#succeed(result.value, result.consumed, bytes)
    this.#wanted = bytes.length + result.need
    const tooLong = this.#tooLong(this.#wanted)
    if (tooLong !== undefined) this.fail(tooLong)
  }

  onEnd(): void {
    this.fail(this.reading.closed(this.#gathered.length))
  }

  onDrain(): void {}

  onClose(conn: Connection): void {
    this.fail(this.reading.closed(this.#gathered.length, conn.closeError))
  }

  timedOut(): void {
    this.fail(this.reading.timedOut(this.#gathered.length))
  }

  fail(error: Error): void {
    if (this.#done) return
    this.#finish()
    this.settle.reject(error)
  }

  #succeed(value: T, consumed: number, bytes: Buffer): void {
    this.#finish()
    this.conn.unshift(bytes.subarray(consumed))
    this.settle.resolve({ value, raw: bytes.subarray(0, consumed) })
  }

  #finish(): void {
    this.#done = true
    clearTimeout(this.timer)
    this.conn.detach()
  }

  #tooLong(wanted: number): Error | undefined {
    const own = this.reading.tooLong?.(wanted)
    if (own !== undefined) return own
    const max = this.reading.maxBytes ?? DEFAULT_HEADER_MAX_BYTES
    return wanted > max ? new SocketHeaderTooLongError(this.reading.what ?? 'header', wanted, max) : undefined
  }
}

function headerTimedOut<T>(read: HeaderRead<T>): void {
  try {
    read.timedOut()
  } catch (err) {
    // An error factory that throws in a timer would end the process.
    reportFault(err)
    read.fail(err as Error)
  }
}

/** Reads one header off `conn`, starting with the bytes it holds pending. */
export function readHeader<T>(
  conn: Connection,
  reading: ConnectionHeaderReading<T>,
): Promise<HeaderResult<T>> {
  const read = new HeaderRead(conn, reading)
  if (conn.done) {
    read.fail(reading.closed(0, conn.closeError))
    return read.settle.promise
  }
  conn.sink = read
  conn.resume()
  return read.settle.promise
}
