/**
 * An in-process stand-in for the Traffic Scheduler, for tests of the node side: a real gRPC
 * server (HTTP/2 on loopback) that records every message nodes send, answers Hello with a Welcome
 * (or, when told, never), and pushes whatever the test says. It can stop gracefully (streams end,
 * GOAWAY), be killed (connections destroyed) and come back on the same port.
 */
import { once } from 'node:events'
import http2, { type Http2Server, type ServerHttp2Session } from 'node:http2'
import { create, type MessageInitShape } from '@bufbuild/protobuf'
import type { HandlerContext } from '@connectrpc/connect'
import { createWritableIterable, type WritableIterable } from '@connectrpc/connect/protocol'
import { connectNodeAdapter } from '@connectrpc/connect-node'
import type { HostPort } from '../../src/config/types.ts'
import {
  type InstructionSetSchema,
  type NodeMessage,
  type ResolveRequest,
  type ResolveResponse,
  ResolveResponseSchema,
  type SchedulerMessage,
  SchedulerMessageSchema,
  TrafficSchedulerService,
} from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { waitFor } from './wait-for.ts'

export type SchedulerMessageInit = MessageInitShape<typeof SchedulerMessageSchema>
export type InstructionSetInit = MessageInitShape<typeof InstructionSetSchema>
export type ResolveResponseInit = MessageInitShape<typeof ResolveResponseSchema>

export interface FakeWelcome {
  readonly schedulerId?: string
  readonly epoch?: bigint
  readonly heartbeatIntervalMs?: number
  readonly reportIntervalMs?: number
}

/** `hang`: never answer (until the call is cancelled). */
export type FakeResolver = (request: ResolveRequest) => ResolveResponseInit | 'hang'

export interface FakeSchedulerOptions {
  readonly host?: string
  readonly port?: number
  /** `never`: read the Hello but send nothing, like a scheduler that hangs. */
  readonly welcome?: FakeWelcome | 'never'
  readonly resolve?: FakeResolver
}

/** One node stream as the scheduler saw it. */
export interface FakeNodeStream {
  readonly received: readonly NodeMessage[]
  readonly ended: boolean
  push(message: SchedulerMessageInit): void
  /** Ends the stream from the scheduler's side (status OK). */
  end(): void
}

export interface FakeScheduler {
  readonly host: string
  readonly port: number
  readonly address: HostPort
  /** Every stream opened, in order of arrival. */
  readonly streams: readonly FakeNodeStream[]
  readonly resolves: readonly ResolveRequest[]
  welcome: FakeWelcome | 'never'
  resolver: FakeResolver
  latest(): FakeNodeStream | undefined
  /** Pushes an instruction set on the latest stream. */
  pushInstructions(set: InstructionSetInit): void
  /** Polls `check` until it returns a truthy value, and returns it. */
  waitFor<T>(check: () => T | undefined | false, what: string, timeoutMs?: number): Promise<T>
  /** Ends every stream, sends GOAWAY and stops listening: what a node sees as `unavailable`. */
  stop(): Promise<void>
  /** Destroys every connection and stops listening: what a node sees of a killed process. */
  kill(): Promise<void>
  /** Listens again on the same port. */
  restart(): Promise<void>
  close(): Promise<void>
}

class Stream implements FakeNodeStream {
  readonly received: NodeMessage[] = []
  readonly outbox: WritableIterable<SchedulerMessage> = createWritableIterable<SchedulerMessage>()
  ended = false
  push(message: SchedulerMessageInit): void {
    this.outbox.write(create(SchedulerMessageSchema, message)).catch(() => undefined)
  }
  end(): void {
    this.ended = true
    this.outbox.close()
  }
}

export async function startFakeScheduler(options: FakeSchedulerOptions = {}): Promise<FakeScheduler> {
  const host = options.host ?? '127.0.0.1'
  const streams: Stream[] = []
  const resolves: ResolveRequest[] = []
  const sessions = new Set<ServerHttp2Session>()
  let server: Http2Server | undefined

  const fake = {
    host,
    port: options.port ?? 0,
    get address(): HostPort {
      return { host, port: fake.port }
    },
    streams,
    resolves,
    welcome: options.welcome ?? {},
    resolver: options.resolve ?? (() => ({})),
    latest: () => streams.at(-1),
    pushInstructions(set: InstructionSetInit) {
      const stream = streams.at(-1)
      if (stream === undefined) throw new Error('fake scheduler: no stream to push to')
      stream.push({ msg: { case: 'instructions', value: set } })
    },
    waitFor,
    stop: () => shut(false),
    kill: () => shut(true),
    restart: listen,
    close: () => shut(true),
  } satisfies FakeScheduler

  async function* connect(requests: AsyncIterable<NodeMessage>, ctx: HandlerContext) {
    const stream = new Stream()
    streams.push(stream)
    ctx.signal.addEventListener('abort', () => stream.end(), { once: true })
    void read(stream, requests)
    yield* stream.outbox
  }

  async function read(stream: Stream, requests: AsyncIterable<NodeMessage>): Promise<void> {
    try {
      for await (const message of requests) {
        stream.received.push(message)
        const welcome = fake.welcome
        if (message.msg.case === 'hello' && welcome !== 'never') {
          stream.push({ msg: { case: 'welcome', value: { schedulerId: 'fake', epoch: 1n, ...welcome } } })
        }
      }
    } catch {
      // The node went away: the stream is over either way.
    } finally {
      stream.end()
    }
  }

  async function resolve(request: ResolveRequest, ctx: HandlerContext): Promise<ResolveResponse> {
    resolves.push(request)
    const answer = fake.resolver(request)
    if (answer !== 'hang') return create(ResolveResponseSchema, answer)
    await new Promise((_, reject) => {
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true })
    })
    return create(ResolveResponseSchema)
  }

  const handler = connectNodeAdapter({
    routes: (router) => router.service(TrafficSchedulerService, { connect, resolve }),
  })

  async function listen(): Promise<void> {
    const s = http2.createServer(handler)
    s.on('session', (session) => {
      sessions.add(session)
      session.on('error', () => undefined)
      session.on('close', () => sessions.delete(session))
    })
    s.listen(fake.port, host)
    await once(s, 'listening')
    const address = s.address()
    if (address !== null && typeof address === 'object') fake.port = address.port
    server = s
  }

  async function shut(abrupt: boolean): Promise<void> {
    const s = server
    server = undefined
    // Killed: connections die before any stream can end cleanly; stopped: streams end first.
    if (abrupt) for (const session of sessions) session.destroy()
    for (const stream of streams) stream.end()
    if (!abrupt) for (const session of sessions) session.close()
    if (s === undefined) return
    const closed = once(s, 'close')
    s.close()
    await closed
  }

  await listen()
  return fake
}
