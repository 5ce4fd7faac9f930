/**
 * One attempt at the scheduler: an HTTP/2 connection of its own (so closing it leaves nothing
 * behind and the next attempt dials afresh), the bidi `Connect` stream on it, and Resolve calls
 * sharing it. Hello goes first; the Welcome must arrive within connect_timeout, which covers the
 * dial and the handshake too. HTTP/2 PINGs notice a scheduler that hangs with the socket open.
 */
import type { Http2Session } from 'node:http2'
import { createClient } from '@connectrpc/connect'
import { createWritableIterable } from '@connectrpc/connect/protocol'
import { createGrpcTransport, type GrpcTransportOptions, Http2SessionManager } from '@connectrpc/connect-node'
import type { HostPort } from '../config/types.ts'
import { DynproxyError } from '../errors/base.ts'
import {
  SchedulerConnectTimeoutError,
  SchedulerProtocolError,
  SchedulerResolveTimeoutError,
  SchedulerStreamError,
} from '../errors/scheduler-client.ts'
import {
  type NodeMessage,
  type ResolveRequest,
  type ResolveResponse,
  type SchedulerMessage,
  TrafficSchedulerService,
  type Welcome,
} from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { formatHostPort } from '../util/host-port.ts'
import type { Transport } from './credentials.ts'
import { schedulerTlsOptions } from './join.ts'

export interface StreamOptions {
  /** Mutual TLS against the scheduler's CA and identity, or plaintext (`insecure`). */
  readonly transport: Transport
  readonly connectTimeoutMs: number
  readonly pingIntervalMs: number
  readonly pingTimeoutMs: number
}

export interface StreamHandlers {
  onWelcome(welcome: Welcome): void
  /** Awaited before the next message is read, so sets apply in the order they were sent. */
  onMessage(message: SchedulerMessage): Promise<void>
}

export interface StreamEnd {
  readonly welcomed: boolean
  readonly error: DynproxyError
}

export class SchedulerStream {
  readonly address: string
  readonly #options: StreamOptions
  readonly #abort = new AbortController()
  readonly #manager: Http2SessionManager
  readonly #rpc
  readonly #outgoing = createWritableIterable<NodeMessage>()

  constructor(address: HostPort, options: StreamOptions) {
    this.address = formatHostPort(address.host, address.port)
    this.#options = options
    const { transport } = options
    const baseUrl = `${transport.kind === 'tls' ? 'https' : 'http'}://${this.address}`
    this.#manager = new Http2SessionManager(
      baseUrl,
      { pingIntervalMs: options.pingIntervalMs, pingTimeoutMs: options.pingTimeoutMs },
      transport.kind === 'tls' ? schedulerTlsOptions(transport) : undefined,
    )
    this.#rpc = createClient(
      TrafficSchedulerService,
      createGrpcTransport({ baseUrl, sessionManager: guardSessions(this.#manager) }),
    )
  }

  /** Runs the stream until it ends; never rejects. */
  async run(hello: NodeMessage, handlers: StreamHandlers): Promise<StreamEnd> {
    let welcomed = false
    const { connectTimeoutMs } = this.#options
    const timer = setTimeout(
      () => this.#abort.abort(new SchedulerConnectTimeoutError(this.address, connectTimeoutMs)),
      connectTimeoutMs,
    )
    this.send(hello)
    try {
      for await (const message of this.#rpc.connect(this.#outgoing, { signal: this.#abort.signal })) {
        if (welcomed) {
          await handlers.onMessage(message)
          continue
        }
        if (message.msg.case !== 'welcome') {
          const got = message.msg.case ?? 'an empty message'
          throw new SchedulerProtocolError(this.address, `expected a welcome first, got ${got}`)
        }
        welcomed = true
        clearTimeout(timer)
        handlers.onWelcome(message.msg.value)
      }
      return { welcomed, error: new SchedulerStreamError(this.address, 'the scheduler ended the stream') }
    } catch (e) {
      return { welcomed, error: this.#explain(e) }
    } finally {
      clearTimeout(timer)
      this.close()
    }
  }

  /** Queues a message; one sent after the stream ended is dropped, as the next stream starts afresh. */
  send(message: NodeMessage): void {
    this.#outgoing.write(message).catch(() => undefined)
  }

  /** Rejects with SchedulerResolveTimeoutError at the deadline, whatever the transport does. */
  async resolve(request: ResolveRequest, timeoutMs: number): Promise<ResolveResponse> {
    const call = new AbortController()
    const abortCall = () => call.abort()
    this.#abort.signal.addEventListener('abort', abortCall, { once: true })
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new SchedulerResolveTimeoutError(this.address, timeoutMs)
        call.abort(err)
        reject(err)
      }, timeoutMs)
    })
    const answer = this.#rpc.resolve(request, { signal: call.signal })
    answer.catch(() => undefined)
    try {
      return await Promise.race([answer, deadline])
    } finally {
      clearTimeout(timer)
      this.#abort.signal.removeEventListener('abort', abortCall)
    }
  }

  /** Ends the stream, any Resolve in flight and the connection; idempotent. */
  close(): void {
    if (this.#abort.signal.aborted) return
    this.#outgoing.close()
    this.#abort.abort(new SchedulerStreamError(this.address, 'closed by this node'))
    this.#manager.abort()
  }

  #explain(e: unknown): DynproxyError {
    const reason: unknown = this.#abort.signal.reason
    if (reason instanceof DynproxyError) return reason
    if (e instanceof DynproxyError) return e
    return new SchedulerStreamError(this.address, e instanceof Error ? e.message : String(e), { cause: e })
  }
}

type SessionManager = NonNullable<GrpcTransportOptions['sessionManager']>

/**
 * Keeps an 'error' listener on every HTTP/2 session for its whole life. connect-node removes its
 * own listener when the manager is aborted, but a session destroyed by a PING timeout emits its
 * error only later, on close: without this, a hung scheduler would crash the node.
 */
function guardSessions(manager: Http2SessionManager): SessionManager {
  const guarded = new WeakSet<Http2Session>()
  return {
    authority: manager.authority,
    async request(method, path, headers, options) {
      const stream = await manager.request(method, path, headers, options)
      const { session } = stream
      if (session !== undefined && !guarded.has(session)) {
        guarded.add(session)
        session.on('error', () => undefined)
      }
      return stream
    },
    notifyResponseByteRead: (stream) => manager.notifyResponseByteRead(stream),
  }
}
