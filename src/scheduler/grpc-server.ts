/**
 * The scheduler's gRPC port: mutual TLS by default (h2c with `scheduler.insecure`), the routes of
 * grpc.ts behind it, binary node streams straight to node-stream.ts. One source address holds at
 * most `max_streams_per_address` connections and as many streams; a stream answered but left open
 * by its client is reset a second later.
 */
import http2 from 'node:http2'
import type { AddressInfo, Socket } from 'node:net'
import { Code, ConnectError, createContextValues } from '@connectrpc/connect'
import { connectNodeAdapter } from '@connectrpc/connect-node'
import { SchedulerBindError } from '../errors/scheduler.ts'
import { SchedulerStreamLimitError } from '../errors/scheduler-auth.ts'
import type { Logger } from '../log/logger.ts'
import type { Clock } from '../util/clock.ts'
import { formatHostPort } from '../util/host-port.ts'
import { PerAddressLimit } from './address-limit.ts'
import type { Authority } from './auth/authority.ts'
import { NodeGate } from './auth/gate.ts'
import type { JoinContext } from './auth/join.ts'
import { peerOf } from './auth/peer.ts'
import { cutRevokedSessions } from './auth/revocation.ts'
import { serverTlsOptions } from './auth/server-tls.ts'
import type { SchedulerSettings } from './config/types.ts'
import type { SchedulerCore } from './core.ts'
import { toConnectError } from './dispatch.ts'
import { PEER, schedulerRoutes } from './grpc.ts'
import { MAX_MESSAGE_BYTES } from './limits.ts'
import { HELLO_TIMEOUT_MS, serveNodeStream, servesNodeStream, trailersFor } from './node-stream.ts'
import type { SchedulerStore } from './store/types.ts'

/** What secures the port; absent with `scheduler.insecure`. */
export interface GrpcSecurity {
  readonly authority: Authority
  readonly store: SchedulerStore
  readonly clock: Clock
}

export interface GrpcOptions {
  readonly core: SchedulerCore
  readonly settings: SchedulerSettings
  readonly logger: Logger
  readonly security?: GrpcSecurity
  /** Default HELLO_TIMEOUT_MS; tests shorten it. */
  readonly helloTimeoutMs?: number
  /** Default HANDSHAKE_TIMEOUT_MS (auth/server-tls.ts); tests shorten it. */
  readonly handshakeTimeoutMs?: number
}

export interface GrpcServer {
  readonly address: string
  close(): Promise<void>
}

/** Sessions get this long to finish after GOAWAY before they are destroyed. */
const CLOSE_GRACE_MS = 2000

type Server = http2.Http2Server | http2.Http2SecureServer

export async function listenGrpc(o: GrpcOptions): Promise<GrpcServer> {
  const { core, settings, logger, security } = o
  const insecure = security === undefined
  const helloTimeoutMs = o.helloTimeoutMs ?? HELLO_TIMEOUT_MS
  const shutdown = new AbortController()
  const gate = new NodeGate(security?.store)
  const join: JoinContext | undefined = security && {
    authority: security.authority,
    store: security.store,
    clock: security.clock,
    nodeCertValidityMs: settings.nodeCertValidityMs,
  }
  const adapter = connectNodeAdapter({
    routes: schedulerRoutes({ core, logger, gate, helloTimeoutMs, ...(join && { join }) }),
    shutdownSignal: shutdown.signal,
    readMaxBytes: MAX_MESSAGE_BYTES,
    contextValues: (req) =>
      createContextValues().set(PEER, peerOf((req as http2.Http2ServerRequest).stream.session, insecure)),
  })
  const streamContext = { core, logger, gate, insecure, shutdown: shutdown.signal, helloTimeoutMs }
  const streams = new PerAddressLimit(settings.maxStreamsPerAddress)
  const handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    const address = req.stream.session?.socket.remoteAddress ?? ''
    closeWhenAnswered(res.stream)
    if (!streams.acquire(address)) return refuse(res, new SchedulerStreamLimitError(address, streams.limit))
    res.once('close', () => streams.release(address))
    if (servesNodeStream(req.method, req.url, req.headers)) serveNodeStream(streamContext, req, res)
    else adapter(req, res)
  }
  const tls =
    security &&
    (() =>
      serverTlsOptions(
        security.authority,
        settings.id,
        settings.nodeCertValidityMs,
        security.clock,
        o.handshakeTimeoutMs,
      ))
  const server: Server = tls ? http2.createSecureServer(await tls(), handler) : http2.createServer(handler)
  limitConnections(server, new PerAddressLimit(settings.maxStreamsPerAddress), logger)
  // A client that fails its handshake (plaintext, a bad certificate, a timeout) is not kept open.
  server.on('tlsClientError', (_err: Error, socket: Socket) => socket.destroy())
  const sessions = new Set<http2.ServerHttp2Session>()
  server.on('session', (session) => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
  })
  const stopCutting = security?.store.watchRevocations((keyHash) =>
    cutRevokedSessions(sessions, keyHash, logger),
  )
  await listen(server, settings)
  const bound = server.address() as AddressInfo
  const address = formatHostPort(bound.address, bound.port)
  const renewal =
    tls && renewCertificate(server as http2.Http2SecureServer, tls, settings.nodeCertValidityMs / 2, logger)
  logger.info({ address, tls: !insecure }, 'scheduler grpc listening')
  let closing: Promise<void> | undefined
  return {
    address,
    close() {
      if (renewal) clearInterval(renewal)
      stopCutting?.()
      closing ??= closeServer(server, sessions, shutdown)
      return closing
    },
  }
}

/** After our answer, trailers included, a client gets this long to end its side of the stream. */
const ANSWERED_GRACE_MS = 1000

/**
 * Our side of a stream is done: a client that keeps its side open would hold the stream, and its
 * slot of max_streams_per_address, for nothing. It is reset (NO_ERROR, as RFC 9113 allows after a
 * complete response) once the trailers have had time to go out.
 */
function closeWhenAnswered(stream: http2.ServerHttp2Stream): void {
  stream.once('finish', () => {
    const timer = setTimeout(() => {
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR)
    }, ANSWERED_GRACE_MS)
    timer.unref()
    stream.once('close', () => clearTimeout(timer))
  })
}

/** The gRPC answer to a request refused before it is served. */
function refuse(res: http2.Http2ServerResponse, err: SchedulerStreamLimitError): void {
  res.writeHead(200, { 'content-type': 'application/grpc+proto' })
  res.addTrailers(trailersFor(toConnectError(err)))
  res.end()
}

/** Connections beyond the limit are closed at accept, before any TLS work is spent on them. */
function limitConnections(server: Server, limit: PerAddressLimit, logger: Logger): void {
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? ''
    if (!limit.acquire(address)) {
      logger.debug({ address, limit: limit.limit }, 'connection refused: too many from one address')
      socket.destroy()
      return
    }
    socket.once('close', () => limit.release(address))
  })
}

async function listen(server: Server, settings: SchedulerSettings): Promise<void> {
  const addr = settings.listen
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject)
      resolve()
    })
  }).catch((cause: unknown) => {
    throw new SchedulerBindError('scheduler.listen', formatHostPort(addr.host, addr.port), cause)
  })
}

/** A scheduler runs longer than its certificate lives: a new one is put in place every `everyMs`. */
function renewCertificate(
  server: http2.Http2SecureServer,
  tls: () => ReturnType<typeof serverTlsOptions>,
  everyMs: number,
  logger: Logger,
): NodeJS.Timeout {
  const timer = setInterval(() => {
    tls().then(
      (options) => server.setSecureContext(options),
      (err: unknown) => logger.error({ err }, 'renewing the scheduler certificate failed'),
    )
  }, everyMs)
  timer.unref()
  return timer
}

async function closeServer(
  server: Server,
  sessions: Set<http2.ServerHttp2Session>,
  shutdown: AbortController,
): Promise<void> {
  shutdown.abort(new ConnectError('scheduler is stopping', Code.Unavailable))
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  for (const session of sessions) session.close()
  const grace = setTimeout(() => {
    for (const session of sessions) session.destroy()
  }, CLOSE_GRACE_MS)
  await closed
  clearTimeout(grace)
}
