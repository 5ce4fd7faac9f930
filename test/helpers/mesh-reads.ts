/**
 * A test's own peer on the mesh wire, on a node:net socket (any TCP stack a peer could run):
 * reads one open response with the codec the node uses, leaving every later byte in the socket
 * (paused), as the node's own reader leaves them in its connection.
 */
import type net from 'node:net'
import { MAX_RESPONSE_HEADER_BYTES } from '../../src/mesh/wire/constants.ts'
import { decodeOpenResponse, type OpenResponse } from '../../src/mesh/wire/response.ts'

export interface ResponseReadOptions {
  readonly maxBytes?: number
  readonly timeoutMs: number
}

export function readOpenResponse(
  socket: net.Socket,
  options: ResponseReadOptions,
): Promise<{ response: OpenResponse; raw: Buffer }> {
  const maxBytes = options.maxBytes ?? MAX_RESPONSE_HEADER_BYTES
  return new Promise((resolve, reject) => {
    let held = Buffer.alloc(0)
    const finish = (error: Error | undefined, response?: OpenResponse, consumed = 0) => {
      clearTimeout(timer)
      socket.pause()
      socket.off('data', onData)
      socket.off('end', onEnd)
      socket.off('close', onEnd)
      if (error !== undefined) return reject(error)
      if (consumed < held.length) socket.unshift(held.subarray(consumed))
      resolve({ response: response as OpenResponse, raw: held.subarray(0, consumed) })
    }
    const onData = (chunk: Buffer) => {
      held = Buffer.concat([held, chunk])
      try {
        const decoded = decodeOpenResponse(held)
        if ('need' in decoded) {
          if (held.length + decoded.need > maxBytes)
            finish(new Error(`response longer than ${maxBytes} bytes`))
          return
        }
        finish(undefined, decoded.response, decoded.consumed)
      } catch (err) {
        finish(err as Error)
      }
    }
    const onEnd = () => finish(new Error(`the connection closed after ${held.length} bytes of a response`))
    const timer = setTimeout(
      () => finish(new Error(`no response within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    )
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    socket.resume()
  })
}
