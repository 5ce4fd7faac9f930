import { create } from '@bufbuild/protobuf'
import { Code, type ConnectRouter, createContextKey, type HandlerContext } from '@connectrpc/connect'
import { SchedulerHelloRequiredError } from '../errors/scheduler.ts'
import { SchedulerInsecureJoinError, SchedulerResolveNoSessionError } from '../errors/scheduler-auth.ts'
import {
  JoinResponseSchema,
  type NodeMessage,
  ResolveResponseSchema,
  type SchedulerMessage,
  TrafficSchedulerService,
} from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import type { Logger } from '../log/logger.ts'
import type { NodeGate } from './auth/gate.ts'
import { type JoinContext, joinNode } from './auth/join.ts'
import type { Peer } from './auth/peer.ts'
import type { NodeSession, SchedulerCore } from './core.ts'
import { asConnectError, dispatch, toConnectError } from './dispatch.ts'
import { Outbox } from './outbox.ts'
import {
  directiveMessage,
  instructionsMessage,
  routeToProto,
  versionToProto,
  welcomeMessage,
} from './proto.ts'

export interface RouteContext {
  readonly core: SchedulerCore
  readonly logger: Logger
  readonly gate: NodeGate
  readonly join?: JoinContext
  readonly helloTimeoutMs: number
}

export const PEER = createContextKey<Peer>(
  { kind: 'anonymous', reason: 'its connection is unknown', address: 'an unknown address' },
  { description: 'the peer of the connection' },
)

/** Handlers throw our errors; the node gets them as gRPC statuses that start with the code. */
async function answer<T>(run: () => Promise<T>, fallback: Code): Promise<T> {
  try {
    return await run()
  } catch (err) {
    throw asConnectError(err, fallback)
  }
}

export function schedulerRoutes(r: RouteContext): (router: ConnectRouter) => void {
  const { core, logger, gate } = r
  return (router) => {
    router.service(TrafficSchedulerService, {
      connect: (requests, ctx) => connectStream(r, requests, ctx),
      resolve: (req, ctx) =>
        answer(async () => {
          const peer = ctx.values.get(PEER)
          await gate.admit(peer)
          const nodeId = gate.resolver(req.nodeId, peer)
          if (!core.registry.get(nodeId)?.connected) throw new SchedulerResolveNoSessionError(nodeId)
          const { route, version } = core.resolve(nodeId, req.listener, req.port)
          return create(ResolveResponseSchema, {
            ...(route && { route: routeToProto(route) }),
            ...(version && { version: versionToProto(version) }),
          })
        }, Code.Internal),
      join: (req, ctx) =>
        answer(async () => {
          if (r.join === undefined) throw new SchedulerInsecureJoinError()
          const peer = ctx.values.get(PEER)
          try {
            const joined = await joinNode(r.join, req, peer)
            logger.info(
              { node: req.nodeId, address: peer.address, renewal: peer.kind === 'node' },
              'node joined',
            )
            return create(JoinResponseSchema, {
              certificate: joined.certificatePem,
              caCertificate: joined.caCertificatePem,
            })
          } catch (err) {
            logger.warn({ node: req.nodeId, address: peer.address, err }, 'join refused')
            throw err
          }
        }, Code.Internal),
    })
  }
}

async function* connectStream(
  r: RouteContext,
  requests: AsyncIterable<NodeMessage>,
  ctx: HandlerContext,
): AsyncGenerator<SchedulerMessage> {
  const { core, logger, gate } = r
  const peer = ctx.values.get(PEER)
  await answer(() => gate.admit(peer), Code.Unauthenticated)
  const iterator = requests[Symbol.asyncIterator]()
  const first = await firstMessage(iterator, r.helloTimeoutMs)
  const msg = first.done ? undefined : first.value.msg
  if (msg?.case !== 'hello') {
    const got = msg === undefined ? 'the end of the stream' : (msg.case ?? 'an empty message')
    throw toConnectError(new SchedulerHelloRequiredError(got))
  }
  const hello = await answer(async () => gate.hello(msg.value, peer), Code.InvalidArgument)
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
      const wire = asConnectError(err, Code.InvalidArgument)
      reason = `stream failed: ${wire.rawMessage}`
      logger.debug({ node: session.nodeId, err }, 'node stream ended with an error')
      outbox.end(wire)
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

/** The stream's first message, within `timeoutMs`. */
async function firstMessage(
  iterator: AsyncIterator<NodeMessage>,
  timeoutMs: number,
): Promise<IteratorResult<NodeMessage>> {
  let timer: NodeJS.Timeout | undefined
  const silent = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(toConnectError(new SchedulerHelloRequiredError(`nothing within ${timeoutMs}ms`))),
      timeoutMs,
    )
  })
  try {
    return await Promise.race([iterator.next(), silent])
  } finally {
    clearTimeout(timer)
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
