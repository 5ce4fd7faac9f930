/** Shared set-up for the scheduler client tests: a client with short, test-sized intervals. */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import type { HostPort, SchedulerConfig } from '../../src/config/types.ts'
import type { NodeMessage } from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { InstructionCache } from '../../src/instructions/cache.ts'
import { SchedulerClient } from '../../src/scheduler-client/client.ts'
import { schedulerCredentials } from '../../src/scheduler-client/credentials.ts'
import type {
  HelloInfo,
  SchedulerClientOptions,
  SchedulerDirective,
} from '../../src/scheduler-client/types.ts'
import { systemClock } from '../../src/util/clock.ts'
import type { InstructionSetInit } from '../helpers/fake-scheduler.ts'

export const HELLO: HelloInfo = {
  nodeId: 'node-1',
  region: 'eu',
  meshAddress: '127.0.0.1:7001',
  listeners: [{ name: 'web', bind: '127.0.0.1:8080', port: 8080 }],
  staticRoutes: [{ name: 'static-web', match: { port: 8080 }, target: '127.0.0.1:9000' }],
  peers: [{ name: 'node-2', address: '127.0.0.1:7002', region: 'us' }],
  softwareVersion: '0.1.0',
}

export interface LogLine {
  readonly level: number
  readonly msg: string
  readonly err?: { readonly code?: string; readonly message?: string }
}

export interface Harness {
  readonly client: SchedulerClient
  readonly cache: InstructionCache
  readonly stateDir: string
  readonly logs: LogLine[]
  readonly directives: SchedulerDirective[]
  close(): Promise<void>
}

export function makeStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'dynproxy-sched-client-'))
}

export function makeClient(
  addresses: readonly HostPort[],
  options: {
    readonly config?: Partial<SchedulerConfig>
    readonly stateDir?: string
    readonly client?: Partial<SchedulerClientOptions>
    /** Default: HELLO's. */
    readonly nodeId?: string
  } = {},
): Harness {
  const nodeId = options.nodeId ?? HELLO.nodeId
  const ownDir = options.stateDir === undefined
  const stateDir = options.stateDir ?? makeStateDir()
  const logs: LogLine[] = []
  const logger = pino({ level: 'debug' }, { write: (s: string) => logs.push(JSON.parse(s) as LogLine) })
  const cache = new InstructionCache({ stateDir, clock: systemClock, logger })
  const directives: SchedulerDirective[] = []
  const client = new SchedulerClient({
    config: {
      addresses,
      connectTimeoutMs: 1_000,
      requestTimeoutMs: 200,
      retryIntervalMs: 50,
      maxRetries: 3,
      heartbeatIntervalMs: 60_000,
      credentials: { kind: 'insecure' },
      ...options.config,
    },
    credentials: schedulerCredentials(options.config?.credentials ?? { kind: 'insecure' }, {
      nodeId,
      stateDir,
      clock: systemClock,
      logger,
    }),
    hello: () => ({ ...HELLO, nodeId }),
    report: () => ({
      routes: [
        {
          route: 'web',
          matches: { instruction: 3, cached_instruction: 1, static: 2 },
          bytesIn: 10,
          bytesOut: 20,
          failures: 1,
        },
      ],
      links: [{ peer: 'node-2', up: true, rttMs: 1.5, activeFlows: 2 }],
      targets: [{ address: '127.0.0.1:9000', connectMs: 0.4, connects: 5, failures: 0 }],
      load: { activeFlows: 2, rssBytes: 1_000_000 },
    }),
    load: () => ({ activeFlows: 7 }),
    onDirective: (d) => directives.push(d),
    cache,
    clock: systemClock,
    logger,
    random: () => 0.5,
    retryCapMs: 200,
    pingIntervalMs: 200,
    pingTimeoutMs: 200,
    ...options.client,
  })
  return {
    client,
    cache,
    stateDir,
    logs,
    directives,
    async close() {
      await client.close()
      if (ownDir) rmSync(stateDir, { recursive: true, force: true })
    },
  }
}

export function validSet(epoch: bigint, counter: bigint, target = '127.0.0.1:9000'): InstructionSetInit {
  return {
    version: { epoch, counter },
    nonce: `nonce-${epoch}-${counter}`,
    ttlMs: 60_000,
    routes: [
      {
        name: 'web',
        match: { port: 8080 },
        paths: [
          { targets: [{ address: target, weight: 1 }] },
          { hops: ['node-2'], targets: [{ address: target, weight: 1 }], token: new Uint8Array([1, 2]) },
        ],
      },
    ],
  }
}

type NodeMessageCase = NonNullable<NodeMessage['msg']['case']>
type NodeMessageValue<C extends NodeMessageCase> = Extract<NodeMessage['msg'], { case: C }>['value']

/** The messages of one kind a fake scheduler received, in order. */
export function ofCase<C extends NodeMessageCase>(
  messages: readonly NodeMessage[],
  kind: C,
): NodeMessageValue<C>[] {
  return messages.flatMap((m) => (m.msg.case === kind ? [m.msg.value as NodeMessageValue<C>] : []))
}

/** A loopback port with nothing listening on it: connections are refused. */
export async function deadPort(): Promise<HostPort> {
  const net = await import('node:net')
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address !== 'object') throw new Error('no port')
  return { host: '127.0.0.1', port: address.port }
}
