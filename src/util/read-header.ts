/**
 * Takes a header off the start of a socket's stream and puts every later byte back (`unshift`),
 * so whoever reads next sees the stream right after the header.
 *
 * Contract: the reader owns the socket only while its promise is pending. It never destroys the
 * socket, leaves it paused in every outcome, and removes every listener it added, so the caller
 * keeps its own 'error' listener on the socket.
 */
import type { Socket } from 'node:net'

/** A whole header and its length, or how many more bytes before `decode` can tell. */
export type HeaderDecoded<T> = { readonly value: T; readonly consumed: number } | { readonly need: number }

export interface HeaderReading<T> {
  /** Throws when the bytes cannot start a valid header. */
  readonly decode: (buf: Buffer) => HeaderDecoded<T>
  readonly timeoutMs: number
  /** The error for a socket that ended or failed first, with what had arrived. */
  readonly closed: (received: number, cause?: Error) => Error
  readonly timedOut: (received: number) => Error
  /** Checked whenever more bytes are awaited: an error stops the wait. */
  readonly tooLong?: (wanted: number) => Error | undefined
}

export function readHeader<T>(socket: Socket, reading: HeaderReading<T>): Promise<{ value: T; raw: Buffer }> {
  return new Promise((resolve, reject) => {
    let pending: Buffer = Buffer.alloc(0)
    let wanted = 1
    const finish = (err: Error | undefined, value?: T, consumed = 0) => {
      clearTimeout(timer)
      socket.pause()
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
      socket.off('error', onError)
      if (err) return reject(err)
      if (consumed < pending.length) socket.unshift(pending.subarray(consumed))
      resolve({ value: value as T, raw: pending.subarray(0, consumed) })
    }
    const onData = (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      if (pending.length < wanted) return
      let result: HeaderDecoded<T>
      try {
        result = reading.decode(pending)
      } catch (err) {
        return finish(err as Error)
      }
      if ('value' in result) return finish(undefined, result.value, result.consumed)
      wanted = pending.length + result.need
      const tooLong = reading.tooLong?.(wanted)
      if (tooLong) finish(tooLong)
    }
    const onEnd = () => finish(reading.closed(pending.length))
    const onError = (cause: Error) => finish(reading.closed(pending.length, cause))
    const timer = setTimeout(() => finish(reading.timedOut(pending.length)), reading.timeoutMs)
    if (socket.destroyed || socket.readableEnded) return onEnd()
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    socket.on('error', onError)
    socket.resume()
  })
}
