/**
 * One TCP connect attempt to an endpoint, bounded by a timeout. The socket it hands over has none of
 * this module's listeners left on it: the caller attaches its own 'error' listener at once.
 */
import net from 'node:net'
import {
  type ConnectFailureReason,
  UpstreamConnectError,
  UpstreamConnectTimeoutError,
} from '../errors/upstream.ts'
import { formatHostPort } from '../util/host-port.ts'

export type { ConnectFailureReason }

const REASONS: ReadonlyMap<string, ConnectFailureReason> = new Map(
  Object.entries({
    ECONNREFUSED: 'refused',
    ETIMEDOUT: 'timeout',
    EHOSTUNREACH: 'unreachable',
    ENETUNREACH: 'unreachable',
    EHOSTDOWN: 'unreachable',
    ENETDOWN: 'unreachable',
    EADDRNOTAVAIL: 'unreachable',
    ENOTFOUND: 'dns',
    EAI_AGAIN: 'dns',
    EAI_FAIL: 'dns',
    EAI_NONAME: 'dns',
    EAI_NODATA: 'dns',
    ECONNRESET: 'reset',
    ECONNABORTED: 'reset',
    EPIPE: 'reset',
  } as const),
)

export function classifyConnectError(code: string | undefined): ConnectFailureReason {
  return (code !== undefined && REASONS.get(code)) || 'other'
}

/** Told how one connect attempt ended; `token` is what the caller passed to openTcp. */
export interface ConnectWaiter<T> {
  connected(socket: net.Socket, token: T): void
  failed(error: UpstreamConnectError | UpstreamConnectTimeoutError, token: T): void
}

const kPending = Symbol('dynproxy.connect')

type PendingSocket = net.Socket & { [kPending]?: PendingConnect<unknown> | undefined }

/** One attempt in progress: what its shared handlers need, found through a symbol on the socket. */
class PendingConnect<T> {
  readonly socket: PendingSocket
  readonly host: string
  readonly port: number
  readonly timeoutMs: number
  readonly waiter: ConnectWaiter<T>
  readonly token: T
  readonly timer: NodeJS.Timeout

  constructor(
    socket: PendingSocket,
    host: string,
    port: number,
    timeoutMs: number,
    waiter: ConnectWaiter<T>,
    token: T,
  ) {
    this.socket = socket
    this.host = host
    this.port = port
    this.timeoutMs = timeoutMs
    this.waiter = waiter
    this.token = token
    // A plain timer rather than the socket's own: that one would stay on the socket, cleared but
    // allocated, for the whole life of the flow.
    this.timer = setTimeout(onConnectTimeout, timeoutMs, this)
    this.timer.unref()
  }
}

/**
 * Connects with `allowHalfOpen` (each direction ends on its own) and `noDelay` (a proxy should not
 * hold back small writes), and tells `waiter` once: connected, or failed with UpstreamConnectError
 * or UpstreamConnectTimeoutError. `signal` aborts the attempt (health checks use it on stop). The
 * handlers are shared functions, so an attempt allocates no closures.
 */
export function openTcp<T>(
  host: string,
  port: number,
  timeoutMs: number,
  waiter: ConnectWaiter<T>,
  token: T,
  signal?: AbortSignal,
): void {
  const socket: PendingSocket = net.connect({ host, port, allowHalfOpen: true, noDelay: true, signal })
  socket[kPending] = new PendingConnect(socket, host, port, timeoutMs, waiter, token)
  socket.on('connect', onConnect)
  socket.on('error', onConnectError)
}

/** openTcp as a promise, for callers off the accept path (health checks, the mesh egress). */
export function connectTcp(
  host: string,
  port: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => openTcp(host, port, timeoutMs, SETTLE, { resolve, reject }, signal))
}

interface Settle {
  resolve(socket: net.Socket): void
  reject(error: Error): void
}

const SETTLE: ConnectWaiter<Settle> = {
  connected: (socket, settle) => settle.resolve(socket),
  failed: (error, settle) => settle.reject(error),
}

/** Takes the attempt off its socket: after this, no handler of this module is left on it. */
function settle(socket: PendingSocket): PendingConnect<unknown> {
  const pending = socket[kPending] as PendingConnect<unknown>
  socket[kPending] = undefined
  clearTimeout(pending.timer)
  socket.off('connect', onConnect)
  socket.off('error', onConnectError)
  return pending
}

function onConnect(this: PendingSocket): void {
  const pending = settle(this)
  pending.waiter.connected(this, pending.token)
}

function onConnectError(this: PendingSocket, err: Error): void {
  const pending = settle(this)
  this.destroy()
  pending.waiter.failed(connectError(pending.host, pending.port, err), pending.token)
}

function onConnectTimeout(pending: PendingConnect<unknown>): void {
  settle(pending.socket)
  pending.socket.destroy()
  const target = formatHostPort(pending.host, pending.port)
  pending.waiter.failed(new UpstreamConnectTimeoutError(target, pending.timeoutMs), pending.token)
}

function connectError(host: string, port: number, err: Error): UpstreamConnectError {
  const errno = errnoOf(err)
  return new UpstreamConnectError(
    formatHostPort(host, port),
    classifyConnectError(errno),
    errno ?? err.name,
    {
      cause: err,
    },
  )
}

/** With happy eyeballs (autoSelectFamily) every address failing gives an AggregateError: use the first. */
function errnoOf(err: Error): string | undefined {
  const first = err instanceof AggregateError ? (err.errors[0] as unknown) : err
  const code = (first as NodeJS.ErrnoException | undefined)?.code
  return typeof code === 'string' ? code : undefined
}
