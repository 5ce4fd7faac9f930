/**
 * Reading and writing mesh headers on a data connection. A reader takes exactly the header off
 * the connection and leaves every later byte in it, so the caller relays the rest untouched; it
 * follows socket/read-header.ts's contract (the connection left detached, never closed).
 */
import { MeshConnectionClosedError, MeshHeaderError, MeshHeaderTimeoutError } from '../../errors/mesh.ts'
import type { Connection } from '../../socket/connection.ts'
import { type ConnectionHeaderReading, type HeaderDecoded, readHeader } from '../../socket/read-header.ts'
import type { MeshStatus } from './constants.ts'
import { peerOf } from './peek.ts'
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

export async function readOpenRequest(
  conn: Connection,
  options: ReadHeaderOptions,
): Promise<ReceivedRequest> {
  const { value, raw } = await readHeader(
    conn,
    meshReading(conn, options, (buf) => {
      const r = decodeOpenRequest(buf)
      return 'need' in r ? r : { value: r.request, consumed: r.consumed }
    }),
  )
  return { request: value, raw }
}

export async function readOpenResponse(
  conn: Connection,
  options: ReadHeaderOptions,
): Promise<ReceivedResponse> {
  const { value, raw } = await readHeader(
    conn,
    meshReading(conn, options, (buf) => {
      const r = decodeOpenResponse(buf)
      return 'need' in r ? r : { value: r.response, consumed: r.consumed }
    }),
  )
  return { response: value, raw }
}

/** Writes a response; returns what `write` returned (false: the rest goes out at the drain). */
export function writeResponse(
  conn: Connection,
  status: MeshStatus,
  message?: string,
  nodeId?: string,
): boolean {
  return conn.write(encodeOpenResponse({ status, message, nodeId }))
}

function meshReading<T>(
  conn: Connection,
  options: ReadHeaderOptions,
  decode: (buf: Buffer) => HeaderDecoded<T>,
): ConnectionHeaderReading<T> {
  const peer = peerOf(conn)
  return {
    decode,
    timeoutMs: options.timeoutMs,
    // The header's own limit, checked before the bytes are awaited, is the only one.
    maxBytes: Number.POSITIVE_INFINITY,
    closed: (received, cause) => new MeshConnectionClosedError(peer, received, cause && { cause }),
    timedOut: (received) => new MeshHeaderTimeoutError(peer, options.timeoutMs, received),
    tooLong: (wanted) =>
      wanted > options.maxBytes
        ? new MeshHeaderError('header length', `of at least ${wanted} bytes exceeds max ${options.maxBytes}`)
        : undefined,
  }
}
