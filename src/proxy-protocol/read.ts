/**
 * Takes a PROXY protocol header off a new connection and puts every later byte back, so the flow
 * relays the client's bytes untouched. The reader owns the socket only while its promise is
 * pending, removes every listener it added, and leaves the socket paused whatever the outcome.
 */
import type { Socket } from 'node:net'
import { ProxyHeaderIncompleteError } from '../errors/proxy-protocol.ts'
import { decodeProxyHeader, type ProxyHeader } from './header.ts'

/** How long a load balancer may take to send the header: it sends it with its first segment. */
export const PROXY_HEADER_TIMEOUT_MS = 5_000

export function readProxyHeader(socket: Socket, timeoutMs = PROXY_HEADER_TIMEOUT_MS): Promise<ProxyHeader> {
  return new Promise((resolve, reject) => {
    let pending: Buffer = Buffer.alloc(0)
    let wanted = 1
    const finish = (err: Error | undefined, header?: ProxyHeader, consumed = 0) => {
      clearTimeout(timer)
      socket.pause()
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
      if (err !== undefined) return reject(err)
      if (consumed < pending.length) socket.unshift(pending.subarray(consumed))
      resolve(header as ProxyHeader)
    }
    const onData = (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      if (pending.length < wanted) return
      try {
        const result = decodeProxyHeader(pending)
        if ('header' in result) return finish(undefined, result.header, result.consumed)
        wanted = pending.length + result.need
      } catch (err) {
        finish(err as Error)
      }
    }
    const onEnd = () => finish(new ProxyHeaderIncompleteError('the connection ended', pending.length))
    const timer = setTimeout(
      () => finish(new ProxyHeaderIncompleteError(`nothing complete within ${timeoutMs}ms`, pending.length)),
      timeoutMs,
    )
    if (socket.destroyed || socket.readableEnded) return onEnd()
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    socket.resume()
  })
}
