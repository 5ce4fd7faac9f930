/**
 * The answering side of a control channel: read and check the hello, answer it, then answer
 * every PING with a PONG until the socket closes. The socket arrives from the mesh server with
 * nothing consumed. Every failure ends in the socket being destroyed; nothing here throws.
 */
import type { Socket } from 'node:net'
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
import type { Clock } from '../util/clock.ts'
import { MAX_CONTROL_WRITE_BUFFER_BYTES } from './channel.ts'

export interface AcceptContext {
  readonly nodeId: string
  readonly token?: string
  readonly replayCache: ReplayCache
  readonly clock: Clock
  readonly helloTimeoutMs: number
  /** A channel with no frame for this long is closed: its dialer is gone or cut off. */
  readonly idleTimeoutMs: number
  readonly logger: Logger
  /** The hello's sender proved who it is: its connection is no longer an unauthenticated one. */
  readonly authenticated?: (socket: Socket) => void
}

interface Verdict {
  readonly status: AuthOutcome
  readonly message?: string
}

export function serveControl(socket: Socket, ctx: AcceptContext, peerIdentity?: string): void {
  const from = `${socket.remoteAddress}:${socket.remotePort}`
  let pending: Buffer = Buffer.alloc(0)
  let reader: ControlFrameReader | undefined
  const helloTimer = setTimeout(() => {
    ctx.logger.debug({ from, received: pending.length }, 'control channel sent no hello in time')
    socket.destroy()
  }, ctx.helloTimeoutMs)
  const refuse = (status: MeshStatus, message: string) => {
    clearTimeout(helloTimer)
    socket.off('data', onData)
    ctx.logger.warn({ from, status, reason: message }, 'control channel refused')
    socket.end(encodeOpenResponse({ status, message, nodeId: ctx.nodeId }), () => socket.destroy())
  }
  const onFrame = (frame: ControlFrame) => {
    if (frame.kind !== 'ping') return
    if (socket.writableLength > MAX_CONTROL_WRITE_BUFFER_BYTES) return void socket.destroy()
    socket.write(encodeControlFrame({ ...frame, kind: 'pong' }))
  }
  const onHello = (hello: DecodedControlHello, raw: Buffer, rest: Buffer) => {
    const verdict = authorize(hello, raw, ctx, peerIdentity)
    if (verdict.status !== 'ok') return refuse(verdict.status, verdict.message ?? verdict.status)
    clearTimeout(helloTimer)
    ctx.authenticated?.(socket)
    ctx.logger.debug({ from, peer: hello.sourceNodeId }, 'control channel accepted')
    socket.write(encodeOpenResponse({ status: 'ok', nodeId: ctx.nodeId }))
    socket.setTimeout(ctx.idleTimeoutMs, () => socket.destroy())
    reader = new ControlFrameReader()
    if (rest.length > 0) onData(rest)
  }
  function onData(chunk: Buffer): void {
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
        return void socket.destroy()
      }
      refuse(err instanceof MeshVersionError ? 'unsupported_version' : 'bad_header', (err as Error).message)
    }
  }
  socket.setNoDelay(true)
  socket.on('error', () => socket.destroy())
  socket.on('close', () => clearTimeout(helloTimer))
  socket.on('data', onData)
  socket.resume()
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
