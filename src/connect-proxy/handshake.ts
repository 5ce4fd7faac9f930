/**
 * The client's side of a `handshake` listener, on a connection: SOCKS5 greeting, authentication and
 * request, or an HTTP CONNECT request, read with socket/read-header.ts (every byte after the
 * request stays in the connection for the relay). Refusals found here (bad bytes, wrong
 * credentials) are answered before the promise rejects; the caller closes the connection
 * gracefully so the answer reaches the client. The request's `reply` answers the outcome of the
 * connect.
 */
import type { ListenerHandshake, ListenerUser } from '../config/types.ts'
import { ConnectProxyAuthError, ConnectProxyHandshakeError } from '../errors/index.ts'
import type { Connection } from '../socket/connection.ts'
import { readHeader } from '../socket/read-header.ts'
import { credentialsValid } from './credentials.ts'
import type { Destination } from './destination.ts'
import { decodeConnectRequest, encodeHttpReply, type HttpConnectRequest } from './http-connect.ts'
import { type ConnectOutcome, HTTP_STATUS_OF, SOCKS_REPLY_OF } from './outcome.ts'
import {
  chooseMethod,
  decodeGreeting,
  decodeRequest,
  decodeUserPass,
  encodeAuthStatus,
  encodeMethodChoice,
  encodeReply,
  SOCKS_METHOD,
  type SocksDecoded,
} from './socks5.ts'

/** Each message of the handshake must arrive within this long: clients send them at once. */
export const HANDSHAKE_STEP_TIMEOUT_MS = 10_000

export interface ClientRequest {
  readonly destination: Destination
  /** Answers the client once the connect is decided: `ok` only when the upstream is connected. */
  reply(outcome: ConnectOutcome): void
}

export async function readClientRequest(
  conn: Connection,
  protocol: ListenerHandshake,
  users: readonly ListenerUser[] | undefined,
  timeoutMs = HANDSHAKE_STEP_TIMEOUT_MS,
): Promise<ClientRequest> {
  const read = <T>(decode: (buf: Buffer) => Decoded<T>) => step(conn, protocol, decode, timeoutMs)
  if (protocol === 'http_connect') {
    const request = await read(httpDecoder)
    if (users !== undefined) {
      const given = request.credentials
      if (given === undefined || !credentialsValid(users, given)) {
        send(conn, encodeHttpReply(407))
        throw new ConnectProxyAuthError(protocol, given?.name)
      }
    }
    return {
      destination: request.destination,
      reply: (outcome) => send(conn, encodeHttpReply(HTTP_STATUS_OF[outcome])),
    }
  }
  const offered = await read((buf) => socks(decodeGreeting(buf)))
  const method = chooseMethod(offered, users !== undefined)
  send(conn, encodeMethodChoice(method))
  if (method === SOCKS_METHOD.noneAcceptable) {
    if (users !== undefined) throw new ConnectProxyAuthError(protocol, undefined)
    throw new ConnectProxyHandshakeError(
      protocol,
      `no method the listener accepts in [${offered.join(', ')}]`,
    )
  }
  if (users !== undefined) {
    const given = await read((buf) => socks(decodeUserPass(buf)))
    const valid = credentialsValid(users, given)
    send(conn, encodeAuthStatus(valid))
    if (!valid) throw new ConnectProxyAuthError(protocol, given.name)
  }
  const destination = await read((buf) => socks(decodeRequest(buf)))
  return { destination, reply: (outcome) => send(conn, encodeReply(SOCKS_REPLY_OF[outcome])) }
}

type Decoded<T> =
  | { readonly need: number }
  | { readonly value: T; readonly consumed: number }
  | { readonly error: string; readonly answer?: Buffer }

function socks<T>(decoded: SocksDecoded<T>): Decoded<T> {
  if (decoded.kind === 'need') return { need: decoded.bytes }
  if (decoded.kind === 'value') return decoded
  const { message, reply } = decoded
  return reply === undefined ? { error: message } : { error: message, answer: encodeReply(reply) }
}

function httpDecoder(buf: Buffer): Decoded<HttpConnectRequest> {
  const decoded = decodeConnectRequest(buf)
  if (decoded.kind === 'need') return { need: 1 }
  if (decoded.kind === 'value') return decoded
  return { error: decoded.message, answer: encodeHttpReply(400) }
}

/** A client that left is not written to (a closed connection takes nothing): the flow's own close handling has it. */
function send(conn: Connection, bytes: Buffer): void {
  conn.write(bytes)
}

/** One message off the connection; a bad one is answered (when it can be) and rejects. */
async function step<T>(
  conn: Connection,
  protocol: ListenerHandshake,
  decode: (buf: Buffer) => Decoded<T>,
  timeoutMs: number,
): Promise<T> {
  let answer: Buffer | undefined
  try {
    const { value } = await readHeader<T>(conn, {
      decode: (buf) => {
        const decoded = decode(buf)
        if (!('error' in decoded)) return decoded
        answer = decoded.answer
        throw new ConnectProxyHandshakeError(protocol, decoded.error)
      },
      timeoutMs,
      closed: (received) =>
        new ConnectProxyHandshakeError(protocol, `the connection ended after ${received} bytes`),
      timedOut: (received) =>
        new ConnectProxyHandshakeError(
          protocol,
          `nothing complete within ${timeoutMs}ms (${received} bytes)`,
        ),
    })
    return value
  } finally {
    if (answer !== undefined) send(conn, answer)
  }
}
