/**
 * The TrafficSchedulerService over gRPC (h2c): one Connect stream per node, and Resolve. Binary
 * gRPC node streams are served by node-stream.ts; this adapter serves the rest the same way. The
 * stream must open with a hello; the welcome goes out at once (it also carries the response
 * headers, so the node knows the stream is up), then the node's set unless it resumes with it.
 */

import http2 from 'node:http2'
import type { AddressInfo } from 'node:net'
import { create } from '@bufbuild/protobuf'
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect'
import { connectNodeAdapter } from '@connectrpc/connect-node'
import type { HostPort } from '../config/types.ts'
import {
  SchedulerBindError,
  SchedulerHelloInvalidError,
  SchedulerHelloRequiredError,
} from '../errors/scheduler.ts'
import {
  type NodeMessage,
  ResolveResponseSchema,
  type SchedulerMessage,
  TrafficSchedulerService,
} from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import type { Logger } from '../log/logger.ts'
import { formatHostPort } from '../util/host-port.ts'
import type { NodeSession, SchedulerCore } from './core.ts'
import { dispatch, toConnectError } from './dispatch.ts'
import { serveNodeStream, servesNodeStream } from './node-stream.ts'
import { Outbox } from './outbox.ts'
import {
  directiveMessage,
  helloFromProto,
  instructionsMessage,
  routeToProto,
  versionToProto,
  welcomeMessage,
} from './proto.ts'

export function schedulerRoutes(core: SchedulerCore, logger: Logger): (router: ConnectRouter) => void {
  return (router) => {
    router.service(TrafficSchedulerService, {
      connect: (requests, ctx) => connectStream(core, logger, requests, ctx),
      resolve: (req) => {
        const { route, version } = core.resolve(req.nodeId, req.listener, req.port)
        return create(ResolveResponseSchema, {
          ...(route && { route: routeToProto(route) }),
          ...(version && { version: versionToProto(version) }),
        })
      },
    })
  }
}

async function* connectStream(
  core: SchedulerCore,
  logger: Logger,
  requests: AsyncIterable<NodeMessage>,
  ctx: HandlerContext,
): AsyncGenerator<SchedulerMessage> {
  const iterator = requests[Symbol.asyncIterator]()
  const first = await iterator.next()
  if (first.done || first.value.msg.case !== 'hello') {
    const got = first.done ? 'the end of the stream' : (first.value.msg.case ?? 'an empty message')
    throw toConnectError(new SchedulerHelloRequiredError(got))
  }
  const hello = helloFromProto(first.value.msg.value)
  if (hello.id === '') throw toConnectError(new SchedulerHelloInvalidError('node_id is empty'))
  const outbox = new Outbox<SchedulerMessage>()
  outbox.push(welcomeMessage(core.welcome()))
  const session = core.attach(hello, {
    send: (set) => outbox.push(instructionsMessage(set)),
    direct: (directive) => outbox.push(directiveMessage(directive)),
    close: (err) => outbox.end(toConnectError(err)),
  })
  let reason = 'stream closed'
  const onAbort = () => {
    reason = 'stream cancelled'
    outbox.end()
  }
  ctx.signal.addEventListener('abort', onAbort, { once: true })
  consume(core, session, iterator).then(
    () => outbox.end(),
    (err: unknown) => {
      reason = `stream failed: ${err instanceof Error ? err.message : String(err)}`
      logger.debug({ node: session.nodeId, err }, 'node stream ended with an error')
      outbox.end()
    },
  )
  try {
    yield* outbox
  } catch (err) {
    reason = err instanceof Error ? err.message : String(err)
    throw err
  } finally {
    ctx.signal.removeEventListener('abort', onAbort)
    core.detach(session, reason)
  }
}

async function consume(
  core: SchedulerCore,
  s: NodeSession,
  iterator: AsyncIterator<NodeMessage>,
): Promise<void> {
  for (;;) {
    const next = await iterator.next()
    if (next.done) return
    dispatch(core, s, next.value.msg)
  }
}

export interface GrpcServer {
  readonly address: string
  close(): Promise<void>
}

/** Sessions get this long to finish after GOAWAY before they are destroyed. */
const CLOSE_GRACE_MS = 2000

export async function listenGrpc(core: SchedulerCore, addr: HostPort, logger: Logger): Promise<GrpcServer> {
  const shutdown = new AbortController()
  const adapter = connectNodeAdapter({
    routes: schedulerRoutes(core, logger),
    shutdownSignal: shutdown.signal,
  })
  const server = http2.createServer((req, res) => {
    if (servesNodeStream(req.method, req.url, req.headers))
      serveNodeStream(core, logger, req, res, shutdown.signal)
    else adapter(req, res)
  })
  const sessions = new Set<http2.ServerHttp2Session>()
  server.on('session', (session) => {
    sessions.add(session)
    session.once('close', () => sessions.delete(session))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject)
      resolve()
    })
  }).catch((cause: unknown) => {
    throw new SchedulerBindError('scheduler.listen', formatHostPort(addr.host, addr.port), cause)
  })
  const bound = server.address() as AddressInfo
  const address = formatHostPort(bound.address, bound.port)
  logger.info({ address }, 'scheduler grpc listening')
  let closing: Promise<void> | undefined
  return {
    address,
    close() {
      closing ??= closeServer(server, sessions, shutdown)
      return closing
    },
  }
}

async function closeServer(
  server: http2.Http2Server,
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
