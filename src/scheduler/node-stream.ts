/**
 * A node's Connect stream served straight on the HTTP/2 stream when it speaks binary gRPC without
 * compression, as every node does: frames, protobuf and trailers by hand. Through the connect
 * library, each message passes a chain of async iterables that costs several times its encoding;
 * with thousands of nodes that was most of the time a change took to reach them all. The
 * library's adapter still serves every other request (Resolve, gRPC-JSON, the Connect protocol).
 *
 * Same contract as the adapter's stream (grpc.ts): the first message must be a hello; the
 * welcome goes out at once, with the response headers; the stream ends with the status of the
 * error that ended it, or OK when the node ended its side.
 */
import http2, {
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
} from 'node:http2'
import { fromBinary, toBinary } from '@bufbuild/protobuf'
import { Code, ConnectError } from '@connectrpc/connect'
import { setTrailerStatus } from '@connectrpc/connect/protocol-grpc'
import { SchedulerHelloRequiredError } from '../errors/scheduler.ts'
import {
  type NodeMessage,
  NodeMessageSchema,
  type SchedulerMessage,
  SchedulerMessageSchema,
  TrafficSchedulerService,
} from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import type { Logger } from '../log/logger.ts'
import type { NodeGate } from './auth/gate.ts'
import { type Peer, peerOf } from './auth/peer.ts'
import type { NodeSession, SchedulerCore } from './core.ts'
import { asConnectError, dispatch, toConnectError } from './dispatch.ts'
import { encodeInstructions } from './encode.ts'
import { FrameReader, frame } from './grpc-framing.ts'
import { MAX_MESSAGE_BYTES } from './limits.ts'
import { directiveMessage, welcomeMessage } from './proto.ts'

export const CONNECT_PATH = `/${TrafficSchedulerService.typeName}/${TrafficSchedulerService.method.connect.name}`

const BINARY_GRPC = /^application\/grpc(\+proto)?$/i

/** Whether this module serves the request; anything else goes to the connect adapter. */
export function servesNodeStream(method: string, path: string, headers: IncomingHttpHeaders): boolean {
  const encoding = headers['grpc-encoding']
  return (
    method === 'POST' &&
    path === CONNECT_PATH &&
    BINARY_GRPC.test(headers['content-type'] ?? '') &&
    (encoding === undefined || encoding === 'identity')
  )
}

/** The grpc-status and grpc-message trailers for an outcome, as the connect library writes them. */
export function trailersFor(err: ConnectError | undefined): Record<string, string> {
  const trailers = new Headers({ 'grpc-status': '0' })
  if (err) setTrailerStatus(trailers, err)
  return Object.fromEntries(trailers)
}

/** What ended a stream, for the trailers and for the node's disconnect reason. */
interface Ending {
  readonly err?: ConnectError
  readonly reason: string
}

const RESPONSE_HEADERS = { 'content-type': 'application/grpc+proto' }

/** Bytes read after a stream was answered, before it is reset: the window of one round trip. */
const DISCARD_MAX_BYTES = 64 * 1024

/** A node says hello at once; a stream silent this long is ended. */
export const HELLO_TIMEOUT_MS = 10_000

export interface NodeStreamContext {
  readonly core: SchedulerCore
  readonly logger: Logger
  readonly gate: NodeGate
  readonly insecure: boolean
  readonly shutdown: AbortSignal
  readonly helloTimeoutMs: number
}

/**
 * Serves one node stream once its peer is admitted (gate.ts); nothing it sent is read before.
 * A refused peer gets the status at once, and the stream ends.
 */
export function serveNodeStream(
  ctx: NodeStreamContext,
  req: Http2ServerRequest,
  res: Http2ServerResponse,
): void {
  const peer = peerOf(req.stream.session, ctx.insecure)
  ctx.gate.admit(peer).then(
    () => {
      if (!res.stream.closed) new NodeStream(ctx, peer, req, res)
    },
    (err: unknown) => {
      const wire = asConnectError(err, Code.Unauthenticated)
      ctx.logger.warn({ address: peer.address, code: wire.code, err: wire.rawMessage }, 'node stream refused')
      if (res.stream.closed) return
      res.writeHead(200, RESPONSE_HEADERS)
      res.addTrailers(trailersFor(wire))
      res.end()
    },
  )
}

class NodeStream {
  readonly #core: SchedulerCore
  readonly #logger: Logger
  readonly #gate: NodeGate
  readonly #peer: Peer
  readonly #res: Http2ServerResponse
  readonly #shutdown: AbortSignal
  readonly #reader = new FrameReader(MAX_MESSAGE_BYTES)
  readonly #onShutdown = () =>
    this.#end({
      err: new ConnectError('scheduler is stopping', Code.Unavailable),
      reason: 'stream cancelled',
    })
  #session: NodeSession | undefined
  #ended: Ending | undefined
  #detached = false
  #discarded = 0
  /** Resetting the stream before the trailers are out leaves Node's stream stuck, unanswered. */
  #trailersSent = false
  /** A stream that says no hello would hold its slot of max_streams_per_address for good. */
  readonly #helloTimer: NodeJS.Timeout

  constructor(ctx: NodeStreamContext, peer: Peer, req: Http2ServerRequest, res: Http2ServerResponse) {
    this.#core = ctx.core
    this.#logger = ctx.logger
    this.#gate = ctx.gate
    this.#peer = peer
    this.#res = res
    this.#shutdown = ctx.shutdown
    // After Node's own listener, which sends the trailers.
    res.stream.once('wantTrailers', () =>
      setImmediate(() => {
        this.#trailersSent = true
      }),
    )
    req.on('data', (chunk: Buffer) => this.#onData(chunk))
    // A reset stream's request ends first on Bun; a turn later the stream says it was reset.
    req.on('end', () => setImmediate(() => this.#onEnd()))
    res.on('close', () => this.#onClose())
    this.#helloTimer = setTimeout(() => {
      const err = toConnectError(new SchedulerHelloRequiredError(`nothing within ${ctx.helloTimeoutMs}ms`))
      this.#end({ err, reason: 'no hello' })
    }, ctx.helloTimeoutMs)
    if (ctx.shutdown.aborted) this.#onShutdown()
    else ctx.shutdown.addEventListener('abort', this.#onShutdown, { once: true })
  }

  #onData(chunk: Buffer): void {
    if (this.#ended) {
      this.#discard(chunk.length)
      return
    }
    try {
      for (const bytes of this.#reader.push(chunk)) {
        if (this.#ended) return
        const m = fromBinary(NodeMessageSchema, bytes)
        if (this.#session) dispatch(this.#core, this.#session, m.msg)
        else this.#open(m)
      }
    } catch (err) {
      const wire = asConnectError(err, Code.InvalidArgument)
      if (!this.#session)
        this.#logger.warn({ address: this.#peer.address, err: wire.rawMessage }, 'hello refused')
      this.#end({ err: wire, reason: `stream failed: ${wire.rawMessage}` })
    }
  }

  /**
   * A client that goes on sending after our answer (the rest of an oversized message) gets the
   * stream reset, once the answer has had a round trip to arrive: its bytes would be read for nothing.
   */
  #discard(bytes: number): void {
    this.#discarded += bytes
    if (this.#discarded > DISCARD_MAX_BYTES && this.#trailersSent && !this.#res.stream.closed)
      this.#res.stream.close(http2.constants.NGHTTP2_NO_ERROR)
  }

  #open(m: NodeMessage): void {
    if (m.msg.case !== 'hello') throw new SchedulerHelloRequiredError(m.msg.case ?? 'an empty message')
    const hello = this.#gate.hello(m.msg.value, this.#peer)
    clearTimeout(this.#helloTimer)
    this.#write(welcomeMessage(this.#core.welcome()))
    this.#session = this.#core.attach(hello, {
      send: (set) => this.#writeBytes(encodeInstructions(set)),
      direct: (directive) => this.#write(directiveMessage(directive)),
      close: (err) => {
        const wire = toConnectError(err)
        this.#end({ err: wire, reason: wire.message })
      },
    })
  }

  /** The node ended its side, or reset the stream: the two look the same until the stream closes. */
  #onEnd(): void {
    if (!this.#session) {
      const err = toConnectError(new SchedulerHelloRequiredError('the end of the stream'))
      this.#end({ err, reason: 'stream closed' })
    } else if (this.#reader.pendingBytes > 0) {
      const err = new ConnectError('truncated message', Code.InvalidArgument)
      this.#end({ err, reason: 'stream failed: truncated message' })
    } else this.#end({ reason: 'stream closed' }, true)
  }

  #onClose(): void {
    const code = this.#res.stream.rstCode
    const reset = code !== undefined && code !== http2.constants.NGHTTP2_NO_ERROR
    if (!this.#ended || reset) this.#end({ reason: 'stream cancelled' })
    this.#detach(reset ? 'stream cancelled' : (this.#ended?.reason ?? 'stream cancelled'))
  }

  #write(m: SchedulerMessage): void {
    this.#writeBytes(toBinary(SchedulerMessageSchema, m))
  }

  #writeBytes(message: Uint8Array): void {
    if (this.#ended) return
    if (!this.#res.headersSent) this.#res.writeHead(200, RESPONSE_HEADERS)
    this.#res.write(frame(message))
  }

  /**
   * Sends the trailers. The node is detached after the caller (a core closing a sink detaches it
   * itself, with its own reason), or once the stream has closed when only that tells a half-close
   * from a reset.
   */
  #end(ending: Ending, detachAtClose = false): void {
    if (this.#ended) return
    this.#ended = ending
    clearTimeout(this.#helloTimer)
    this.#shutdown.removeEventListener('abort', this.#onShutdown)
    if (!this.#res.headersSent) this.#res.writeHead(200, RESPONSE_HEADERS)
    this.#res.addTrailers(trailersFor(ending.err))
    this.#res.end()
    if (ending.err) this.#logger.debug({ node: this.#session?.nodeId, err: ending.err }, 'node stream ended')
    if (!detachAtClose) queueMicrotask(() => this.#detach(ending.reason))
  }

  #detach(reason: string): void {
    if (this.#detached) return
    this.#detached = true
    if (this.#session) this.#core.detach(this.#session, reason)
  }
}
