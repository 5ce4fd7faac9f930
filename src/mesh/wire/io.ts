/**
 * Reading and writing mesh headers on a data connection. A reader takes exactly the header off
 * the socket and puts every later byte back, so the caller relays the rest untouched; it follows
 * util/read-header.ts's contract (paused socket, no listener left, the caller's 'error' listener).
 */
import type { Socket } from 'node:net'
import { MeshConnectionClosedError, MeshHeaderError, MeshHeaderTimeoutError } from '../../errors/mesh.ts'
import { type HeaderDecoded, type HeaderReading, readHeader } from '../../util/read-header.ts'
import type { MeshStatus } from './constants.ts'
import { type DecodedOpenRequest, decodeOpenRequest } from './request.ts'
import { decodeOpenResponse, encodeOpenResponse, type OpenResponse } from './response.ts'

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

export async function readOpenRequest(socket: Socket, options: ReadHeaderOptions): Promise<ReceivedRequest> {
  const { value, raw } = await readHeader(
    socket,
    meshReading(socket, options, (buf) => {
      const r = decodeOpenRequest(buf)
      return 'need' in r ? r : { value: r.request, consumed: r.consumed }
    }),
  )
  return { request: value, raw }
}

export async function readOpenResponse(
  socket: Socket,
  options: ReadHeaderOptions,
): Promise<ReceivedResponse> {
  const { value, raw } = await readHeader(
    socket,
    meshReading(socket, options, (buf) => {
      const r = decodeOpenResponse(buf)
      return 'need' in r ? r : { value: r.response, consumed: r.consumed }
    }),
  )
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

function meshReading<T>(
  socket: Socket,
  options: ReadHeaderOptions,
  decode: (buf: Buffer) => HeaderDecoded<T>,
): HeaderReading<T> {
  const peer = `${socket.remoteAddress}:${socket.remotePort}`
  return {
    decode,
    timeoutMs: options.timeoutMs,
    closed: (received, cause) => new MeshConnectionClosedError(peer, received, cause && { cause }),
    timedOut: (received) => new MeshHeaderTimeoutError(peer, options.timeoutMs, received),
    tooLong: (wanted) =>
      wanted > options.maxBytes
        ? new MeshHeaderError('header length', `of at least ${wanted} bytes exceeds max ${options.maxBytes}`)
        : undefined,
  }
}
