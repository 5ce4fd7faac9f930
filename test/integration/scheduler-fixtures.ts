/** Simulated nodes for scheduler tests: real gRPC clients over loopback, no proxy behind them. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { create, type MessageInitShape } from '@bufbuild/protobuf'
import { createClient } from '@connectrpc/connect'
import { createWritableIterable } from '@connectrpc/connect/protocol'
import { createGrpcTransport } from '@connectrpc/connect-node'
import {
  type HelloSchema,
  type InstructionSet,
  type LinkReportSchema,
  type NodeMessage,
  NodeMessageSchema,
  type SchedulerMessage,
  TrafficSchedulerService,
} from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { API_TOKEN_FILE } from '../../src/scheduler/rest-api.ts'
import { type RunningScheduler, startScheduler } from '../../src/scheduler/server.ts'
import { operatorHeaders } from '../helpers/node-harness.ts'

export const WAIT_MS = 5000

export class SimNode {
  readonly id: string
  readonly received: SchedulerMessage[] = []
  error: unknown
  ended = false
  readonly #out = createWritableIterable<NodeMessage>()
  #waiters: (() => void)[] = []

  constructor(grpcAddress: string, hello: MessageInitShape<typeof HelloSchema>) {
    this.id = hello.nodeId ?? ''
    const client = createClient(
      TrafficSchedulerService,
      createGrpcTransport({ baseUrl: `http://${grpcAddress}` }),
    )
    void this.#out.write(create(NodeMessageSchema, { msg: { case: 'hello', value: hello } }))
    void this.#read(client.connect(this.#out))
  }

  async #read(stream: AsyncIterable<SchedulerMessage>): Promise<void> {
    try {
      for await (const m of stream) {
        this.received.push(m)
        this.#wake()
      }
    } catch (err) {
      this.error = err
    } finally {
      this.ended = true
      this.#wake()
    }
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }

  send(msg: MessageInitShape<typeof NodeMessageSchema>['msg']): void {
    void this.#out.write(create(NodeMessageSchema, { msg })).catch(() => undefined)
  }

  sets(): InstructionSet[] {
    return this.received.flatMap((m) => (m.msg.case === 'instructions' ? [m.msg.value] : []))
  }

  lastSet(): InstructionSet | undefined {
    return this.sets().at(-1)
  }

  /** Waits until `check` holds (checked on each message and at the end of the stream). */
  async until<T>(check: () => T | undefined | false, what: string, timeoutMs = WAIT_MS): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const value = check()
      if (value !== undefined && value !== false) return value
      if (this.ended && check() === undefined)
        throw new Error(`${this.id}: stream ended before ${what}: ${String(this.error)}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${this.id}: timed out waiting for ${what}`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 100))
        this.#waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** The next set after `count` sets were seen. */
  nextSet(count: number, timeoutMs = WAIT_MS): Promise<InstructionSet> {
    return this.until(() => this.sets()[count], `instruction set #${count + 1}`, timeoutMs)
  }

  ack(set: InstructionSet): void {
    this.send({ case: 'ack', value: { version: set.version, nonce: set.nonce } })
  }

  report(links: MessageInitShape<typeof LinkReportSchema>[]): void {
    this.send({ case: 'report', value: { sentAtMs: BigInt(Date.now()), links } })
  }

  close(): void {
    this.#out.close()
  }
}

export interface LinkExtra {
  readonly up?: boolean
  readonly jitterMs?: number
  readonly lossRatio?: number
  readonly throughputBps?: number
}

export function link(
  peer: string,
  rttMs: number,
  extra: LinkExtra = {},
): MessageInitShape<typeof LinkReportSchema> {
  return { peer, up: true, rttMs, jitterMs: 0, lossRatio: 0, ...extra }
}

export interface Harness {
  readonly dir: string
  readonly statePath: string
  scheduler: RunningScheduler
  readonly nodes: SimNode[]
  /** The operator token the scheduler made in its state_dir. */
  readonly tokenFile: string
  token(): string
  node(hello: MessageInitShape<typeof HelloSchema>): SimNode
  /** A request to the REST API; a change without an authorization header gets the operator's headers. */
  api(path: string, init?: RequestInit): Promise<Response>
  restart(): Promise<void>
  close(): Promise<void>
}

function isRead(init: RequestInit | undefined): boolean {
  const method = init?.method ?? 'GET'
  return method === 'GET' || method === 'HEAD'
}

/**
 * A scheduler on loopback ephemeral ports with its state in a fresh temporary directory, laid out
 * as the defaults lay it out in a working directory: `dynproxy ctl` run there finds the token.
 */
export async function startHarness(yamlBody: string, options: { api?: string } = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'dynproxy-sched-'))
  const statePath = join(dir, 'state.json')
  const stateDir = join(dir, 'dynproxy-state', 'scheduler')
  const text = `scheduler:\n  listen: 127.0.0.1:0\n  api: ${options.api ?? '127.0.0.1:0'}\n  store: { type: embedded, path: ${JSON.stringify(statePath)} }\n  state_dir: ${JSON.stringify(stateDir)}\n${yamlBody}`
  const config = schedulerConfigFromText(text)
  const start = () => startScheduler(config, { logger: silentLogger() })
  const h: Harness = {
    dir,
    statePath,
    scheduler: await start(),
    nodes: [],
    tokenFile: join(stateDir, API_TOKEN_FILE),
    token: () => readFileSync(h.tokenFile, 'utf8').trim(),
    node(hello) {
      const n = new SimNode(h.scheduler.grpcAddress, hello)
      h.nodes.push(n)
      return n
    },
    api(path, init) {
      const given = (init?.headers ?? {}) as Record<string, string>
      const operator = isRead(init) || 'authorization' in given ? {} : operatorHeaders(h.token())
      return fetch(`http://${h.scheduler.apiAddress}${path}`, {
        ...init,
        headers: { ...operator, ...given },
        signal: AbortSignal.timeout(WAIT_MS),
      })
    },
    async restart() {
      await h.scheduler.close()
      h.scheduler = await start()
    },
    async close() {
      for (const n of h.nodes) n.close()
      await h.scheduler.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return h
}

/** The scheduler most stream tests use: one service `web` from a's listener `web` out of a, to a target nobody needs. */
export function webServiceConfig(timing: { heartbeat: string; report: string; debounce?: string }): string {
  return `  heartbeat_interval: ${timing.heartbeat}
  report_interval: ${timing.report}
${timing.debounce ? `  push_debounce: ${timing.debounce}\n` : ''}services:
  - name: web
    ingress: [{ node: a, listener: web }]
    egress: [a]
    targets: ["127.0.0.1:9"]
`
}
