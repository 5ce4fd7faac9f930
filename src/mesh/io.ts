/**
 * Reading and writing mesh headers on a data connection. A reader takes exactly the header off
 * the socket and puts every later byte back (`unshift`), so the caller pipes the rest untouched.
 *
 * Contract: the reader owns the socket only while its promise is pending. It never destroys the
 * socket and leaves it paused in every outcome (pipe() or resume() restarts it); it removes every
 * listener it added, so the caller must keep its own 'error' listener on the socket.
 */
import type { Socket } from 'node:net'
import { MeshConnectionClosedError, MeshHeaderError, MeshHeaderTimeoutError } from '../errors/mesh.ts'
import { type DecodedOpenRequest, decodeOpenRequest } from './request.ts'
import { decodeOpenResponse, encodeOpenResponse, type OpenResponse } from './response.ts'
import type { MeshStatus } from './wire.ts'

export interface ReadHeaderOptions {
  /** Headers declaring more than this are rejected before their bytes are awaited. */
  readonly maxBytes: number
  readonly timeoutMs: number
}

export interface ReceivedRequest {
  readonly request: DecodedOpenRequest
  /** The header bytes exactly as received: what `verifyRequestAuth` checks. */
  readonly raw: Buffer
}

export interface ReceivedResponse {
  readonly response: OpenResponse
  readonly raw: Buffer
}

type Decoded<T> = { readonly value: T; readonly consumed: number } | { readonly need: number }

export async function readOpenRequest(socket: Socket, options: ReadHeaderOptions): Promise<ReceivedRequest> {
  const { value, raw } = await readHeader(socket, options, (buf) => {
    const r = decodeOpenRequest(buf)
    return 'need' in r ? r : { value: r.request, consumed: r.consumed }
  })
  return { request: value, raw }
}

export async function readOpenResponse(
  socket: Socket,
  options: ReadHeaderOptions,
): Promise<ReceivedResponse> {
  const { value, raw } = await readHeader(socket, options, (buf) => {
    const r = decodeOpenResponse(buf)
    return 'need' in r ? r : { value: r.response, consumed: r.consumed }
  })
  return { response: value, raw }
}

/** Writes a response; returns what `socket.write` returned (false: wait for 'drain'). */
export function writeResponse(
  socket: Socket,
  status: MeshStatus,
  message?: string,
  nodeId?: string,
): boolean {
  return socket.write(encodeOpenResponse({ status, message, nodeId }))
}

function readHeader<T>(
  socket: Socket,
  options: ReadHeaderOptions,
  decode: (buf: Buffer) => Decoded<T>,
): Promise<{ value: T; raw: Buffer }> {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`
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
      let result: Decoded<T>
      try {
        result = decode(pending)
      } catch (err) {
        return finish(err as Error)
      }
      if ('value' in result) return finish(undefined, result.value, result.consumed)
      wanted = pending.length + result.need
      if (wanted > options.maxBytes) {
        finish(
          new MeshHeaderError('header length', `of at least ${wanted} bytes exceeds max ${options.maxBytes}`),
        )
      }
    }
    const onEnd = () => finish(new MeshConnectionClosedError(peer, pending.length))
    const onError = (cause: Error) => finish(new MeshConnectionClosedError(peer, pending.length, { cause }))
    const timer = setTimeout(
      () => finish(new MeshHeaderTimeoutError(peer, options.timeoutMs, pending.length)),
      options.timeoutMs,
    )
    if (socket.destroyed || socket.readableEnded) return onEnd()
    socket.on('data', onData)
    socket.on('end', onEnd)
    socket.on('close', onEnd)
    socket.on('error', onError)
    socket.resume()
  })
}
