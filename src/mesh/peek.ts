/**
 * Looks at the first bytes of a new mesh connection without taking them: the mesh port serves
 * data connections (kind open) and control channels (kind control), and the prefix says which.
 * The bytes are put back, so the handler that follows reads the whole header itself.
 */
import type { Socket } from 'node:net'
import { MeshConnectionClosedError, MeshHeaderTimeoutError } from '../errors/index.ts'

/** magic(4) version(1) kind(1) */
export const PREFIX_BYTES = 6

export function peekPrefix(socket: Socket, timeoutMs: number): Promise<Buffer> {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`
  return new Promise((resolve, reject) => {
    let pending: Buffer = Buffer.alloc(0)
    const finish = (err?: Error) => {
      clearTimeout(timer)
      socket.pause()
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
      socket.off('error', onError)
      if (pending.length > 0) socket.unshift(pending)
      if (err) reject(err)
      else resolve(Buffer.from(pending.subarray(0, PREFIX_BYTES)))
    }
    const onData = (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      if (pending.length >= PREFIX_BYTES) finish()
    }
    const onEnd = () => finish(new MeshConnectionClosedError(peer, pending.length))
    const onError = (cause: Error) => finish(new MeshConnectionClosedError(peer, pending.length, { cause }))
    const timer = setTimeout(
      () => finish(new MeshHeaderTimeoutError(peer, timeoutMs, pending.length)),
      timeoutMs,
    )
    if (socket.destroyed || socket.readableEnded) return onEnd()
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    socket.on('error', onError)
    socket.resume()
  })
}
