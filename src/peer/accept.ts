/**
 * The answering side of a control channel: read and check the hello, answer it, then answer
 * every PING with a PONG until the connection closes. The connection arrives from the mesh server
 * with nothing consumed. Every failure ends in the connection being closed; nothing here throws.
 */
import type { Logger } from 'pino'
import { MeshVersionError } from '../errors/mesh.ts'
import type { AuthOutcome } from '../mesh/security/auth.ts'
import type { ReplayCache } from '../mesh/security/replay-cache.ts'
import type { MeshStatus } from '../mesh/wire/constants.ts'
import {
  type DecodedControlHello,
  decodeControlHello,
  MAX_HELLO_BYTES,
  verifyHelloAuth,
} from '../mesh/wire/control.ts'
import { type ControlFrame, ControlFrameReader, encodeControlFrame } from '../mesh/wire/control-frames.ts'
import { encodeOpenResponse } from '../mesh/wire/response.ts'
import type { Connection, ConnectionSink } from '../socket/connection.ts'
import type { IdleSweep } from '../socket/idle-sweep.ts'
import type { Clock } from '../util/clock.ts'
import { MAX_CONTROL_WRITE_BUFFER_BYTES } from './channel.ts'

export interface AcceptContext {
  readonly nodeId: string
  readonly token?: string
  readonly replayCache: ReplayCache
  readonly clock: Clock
  readonly helloTimeoutMs: number
  /** Closes a channel with no frame for its timeout: its dialer is gone or cut off. */
  readonly idle: IdleSweep
  readonly logger: Logger
  /** The hello's sender proved who it is: its connection is no longer an unauthenticated one. */
  readonly authenticated?: (conn: Connection) => void
  /** The channel's connection closed, whatever ended it. */
  readonly closed?: (conn: Connection) => void
}

interface Verdict {
  readonly status: AuthOutcome
  readonly message?: string
}

export function serveControl(conn: Connection, ctx: AcceptContext, peerIdentity?: string): void {
  const { remoteAddress, remotePort } = conn.addresses()
  const from = `${remoteAddress}:${remotePort}`
  let pending: Buffer = Buffer.alloc(0)
  let reader: ControlFrameReader | undefined
  let refused = false
  const helloTimer = setTimeout(() => {
    ctx.logger.debug({ from, received: pending.length }, 'control channel sent no hello in time')
    conn.closeNow()
  }, ctx.helloTimeoutMs)
  const refuse = (status: MeshStatus, message: string) => {
    clearTimeout(helloTimer)
    refused = true
    ctx.logger.warn({ from, status, reason: message }, 'control channel refused')
    conn.write(encodeOpenResponse({ status, message, nodeId: ctx.nodeId }))
    conn.close()
  }
  const onFrame = (frame: ControlFrame) => {
    if (frame.kind !== 'ping') return
    if (conn.backlogBytes > MAX_CONTROL_WRITE_BUFFER_BYTES) return void conn.closeNow()
    conn.write(encodeControlFrame({ ...frame, kind: 'pong' }))
  }
  const onHello = (hello: DecodedControlHello, raw: Buffer, rest: Buffer) => {
    const verdict = authorize(hello, raw, ctx, peerIdentity)
    if (verdict.status !== 'ok') return refuse(verdict.status, verdict.message ?? verdict.status)
    clearTimeout(helloTimer)
    ctx.authenticated?.(conn)
    ctx.logger.debug({ from, peer: hello.sourceNodeId }, 'control channel accepted')
    conn.write(encodeOpenResponse({ status: 'ok', nodeId: ctx.nodeId }))
    conn.watchIdle(ctx.idle)
    reader = new ControlFrameReader()
    if (rest.length > 0) onData(conn, rest)
  }
  function onData(_conn: Connection, chunk: Buffer): void {
    if (refused) return
    try {
      if (reader) {
        reader.push(chunk, onFrame)
        return
      }
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      const r = decodeControlHello(pending)
      if ('need' in r) {
        if (pending.length + r.need > MAX_HELLO_BYTES) refuse('bad_header', 'hello too long')
        return
      }
      onHello(r.hello, pending.subarray(0, r.consumed), pending.subarray(r.consumed))
    } catch (err) {
      if (reader) {
        ctx.logger.debug({ from, err }, 'control channel closed on a bad frame')
        return void conn.closeNow()
      }
      refuse(err instanceof MeshVersionError ? 'unsupported_version' : 'bad_header', (err as Error).message)
    }
  }
  const sink: ConnectionSink<undefined> = {
    owner: undefined,
    onData,
    // The dialer half-closed: it sends no more pings, so the channel is over.
    onEnd: () => conn.closeNow(),
    onDrain() {},
    onClose: () => {
      clearTimeout(helloTimer)
      ctx.closed?.(conn)
    },
  }
  conn.sink = sink
  conn.resume()
}

function authorize(
  hello: DecodedControlHello,
  raw: Buffer,
  ctx: AcceptContext,
  peerIdentity: string | undefined,
): Verdict {
  const auth = authenticate(hello, raw, ctx, peerIdentity)
  if (auth.status !== 'ok') return auth
  if (hello.expectedNodeId !== ctx.nodeId) {
    return {
      status: 'unauthorized',
      message: `this is node ${ctx.nodeId}, not ${hello.expectedNodeId} (hint: check peers[].address on ${hello.sourceNodeId})`,
    }
  }
  return auth
}

/** A TLS identity, when the mesh server has one, is proof enough; otherwise the token MAC. */
function authenticate(
  hello: DecodedControlHello,
  raw: Buffer,
  ctx: AcceptContext,
  peerIdentity: string | undefined,
): Verdict {
  if (peerIdentity !== undefined) {
    if (peerIdentity === hello.sourceNodeId) return { status: 'ok' }
    return {
      status: 'unauthorized',
      message: `certificate names ${peerIdentity} but the hello claims ${hello.sourceNodeId}`,
    }
  }
  if (ctx.token === undefined)
    return { status: 'unauthorized', message: 'no token and no tls client identity' }
  const status = verifyHelloAuth(raw, hello, ctx.token, ctx.clock.now(), ctx.replayCache)
  return status === 'ok' ? { status } : { status, message: `hello from ${hello.sourceNodeId}: ${status}` }
}
