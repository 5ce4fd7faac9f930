/**
 * Simulated nodes for scheduler tests: real gRPC clients over loopback, no proxy behind them, each
 * with a certificate for its node id from the scheduler's CA, as a node that joined has.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type http2 from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { create, type MessageInitShape } from '@bufbuild/protobuf'
import { createClient } from '@connectrpc/connect'
import { createWritableIterable } from '@connectrpc/connect/protocol'
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node'
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
import { type NodeCertificates, nodeCertificates, nodeSessionOptions } from '../helpers/node-certs.ts'
import { operatorHeaders } from '../helpers/node-harness.ts'

export const WAIT_MS = 5000

export class SimNode {
  readonly id: string
  readonly received: SchedulerMessage[] = []
  error: unknown
  ended = false
  readonly #out = createWritableIterable<NodeMessage>()
  #waiters: (() => void)[] = []

  /** `tls` undefined: the scheduler runs insecure. */
  constructor(
    grpcAddress: string,
    hello: MessageInitShape<typeof HelloSchema>,
    tls: Promise<http2.SecureClientSessionOptions> | undefined,
  ) {
    this.id = hello.nodeId ?? ''
    void this.#out.write(create(NodeMessageSchema, { msg: { case: 'hello', value: hello } }))
    void this.#read(grpcAddress, tls)
  }

  async #read(
    grpcAddress: string,
    tls: Promise<http2.SecureClientSessionOptions> | undefined,
  ): Promise<void> {
    try {
      const options = await tls
      const baseUrl = `${options ? 'https' : 'http'}://${grpcAddress}`
      const sessionManager = new Http2SessionManager(baseUrl, {}, options)
      const client = createClient(TrafficSchedulerService, createGrpcTransport({ baseUrl, sessionManager }))
      for await (const m of client.connect(this.#out)) {
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
  /** `https://` (or, insecure, `http://`) and the scheduler's gRPC address. */
  readonly baseUrl: string
  /** Options for `http2.connect` as node `nodeId`: its certificate; undefined when insecure. */
  tls(nodeId: string): Promise<http2.SecureClientSessionOptions | undefined>
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
export async function startHarness(
  yamlBody: string,
  options: {
    readonly api?: string
    readonly helloTimeoutMs?: number
    readonly handshakeTimeoutMs?: number
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'dynproxy-sched-'))
  const statePath = join(dir, 'state.json')
  const stateDir = join(dir, 'dynproxy-state', 'scheduler')
  const text = `scheduler:\n  listen: 127.0.0.1:0\n  api: ${options.api ?? '127.0.0.1:0'}\n  store: { type: embedded, path: ${JSON.stringify(statePath)} }\n  state_dir: ${JSON.stringify(stateDir)}\n${yamlBody}`
  const config = schedulerConfigFromText(text)
  const { helloTimeoutMs, handshakeTimeoutMs } = options
  const timeouts = {
    ...(helloTimeoutMs !== undefined && { helloTimeoutMs }),
    ...(handshakeTimeoutMs !== undefined && { handshakeTimeoutMs }),
  }
  const start = () => startScheduler(config, { logger: silentLogger(), ...timeouts })
  const scheduler = await start()
  // The CA stays across restarts (it is in the state file), and so do these certificates.
  const certs: NodeCertificates | undefined =
    scheduler.authority && (await nodeCertificates(scheduler.authority.ca))
  const tls = async (nodeId: string) => certs && nodeSessionOptions(await certs.of(nodeId))
  const nodeTls = (nodeId: string) => certs?.of(nodeId).then(nodeSessionOptions)
  const h: Harness = {
    dir,
    statePath,
    scheduler,
    nodes: [],
    tokenFile: join(stateDir, API_TOKEN_FILE),
    token: () => readFileSync(h.tokenFile, 'utf8').trim(),
    node(hello) {
      const n = new SimNode(h.scheduler.grpcAddress, hello, nodeTls(hello.nodeId ?? ''))
      h.nodes.push(n)
      return n
    },
    get baseUrl() {
      return `${certs ? 'https' : 'http'}://${h.scheduler.grpcAddress}`
    },
    tls,
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

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

/** Runs `dynproxy ctl` against the harness's scheduler, with its operator token. */
export function ctl(h: Harness, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const argv = [
      MAIN,
      'ctl',
      '--api',
      `http://${h.scheduler.apiAddress}`,
      '--token-file',
      h.tokenFile,
      ...args,
    ]
    execFile(process.execPath, argv, { timeout: 20_000 }, (err, out, errText) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out, err: errText })
    })
  })
}
