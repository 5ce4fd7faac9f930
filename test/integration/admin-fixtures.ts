/** A node view with known numbers, and an admin server on loopback port 0 around it. */
import { Writable } from 'node:stream'
import pino from 'pino'
import { type AdminServer, createAdminServer } from '../../src/admin/index.ts'
import type { HostPort } from '../../src/config/types.ts'
import { PeerUnknownError } from '../../src/errors/peer.ts'
import { createMetrics } from '../../src/metrics/index.ts'
import type {
  FlowInfo,
  InstructionsView,
  NodeStats,
  NodeView,
  PeerStatus,
  RouteStatus,
} from '../../src/views/node-view.ts'

export interface TestView extends NodeView {
  ready: boolean
  drains: number
  flows: FlowInfo[]
  failRoutes: boolean
}

function flow(i: number, listener: string): FlowInfo {
  return {
    id: `f${i}`,
    listener,
    source: `127.0.0.1:${40000 + i}`,
    route: 'r-web',
    target: '127.0.0.1:9001',
    state: 'established',
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1000 + i,
    bytesIn: i,
    bytesOut: 2 * i,
  }
}

export const STATS: NodeStats = {
  node: {
    id: 'n1',
    region: 'eu',
    version: '0.1.0',
    pid: 4242,
    startedAt: '2026-01-01T00:00:00.000Z',
    uptimeSeconds: 60,
    state: 'running',
  },
  connections: { active: 2, total: 10, rejected: 1, failed: 3 },
  traffic: { bytesIn: 100, bytesOut: 200 },
  routeMatches: { 'r-web': { instruction: 0, cached_instruction: 0, static: 10 } },
}

export const ROUTES: RouteStatus[] = [
  {
    name: 'r-web',
    match: { port: 8080 },
    lb: 'round_robin',
    target: '127.0.0.1:9001',
    matches: { instruction: 0, cached_instruction: 0, static: 10 },
    paths: [],
    bytesIn: 0,
    bytesOut: 0,
    failedFlows: 0,
    endpoints: [
      {
        address: '127.0.0.1:9001',
        weight: 1,
        health: 'healthy',
        ejected: false,
        ejections: 0,
        activeConnections: 2,
        totalConnections: 10,
        connectFailures: 3,
      },
    ],
  },
]

export const PEERS: PeerStatus[] = [
  { name: 'p1', address: '127.0.0.1:7001', type: 'tcp', state: 'up', rttMs: 3, loss: 0, activeFlows: 2 },
]

export const INSTRUCTIONS: InstructionsView = {
  version: '3.7',
  appliedAt: '2026-11-24T10:00:00.000Z',
  ttlMs: 300_000,
  fresh: true,
  routes: [
    {
      name: 'web',
      service: 'web',
      match: { listener: 'web' },
      paths: [{ hops: ['b', 'c'], targets: ['10.0.0.5:80'], weight: 100 }],
    },
  ],
}

export function testView(): TestView {
  const view: TestView = {
    ready: true,
    drains: 0,
    failRoutes: false,
    flows: [
      ...Array.from({ length: 5 }, (_, i) => flow(i, 'web')),
      ...Array.from({ length: 3 }, (_, i) => flow(5 + i, 'api')),
    ],
    getStats: () => ({
      ...STATS,
      node: { ...STATS.node, state: view.drains > 0 ? 'draining' : view.ready ? 'running' : 'starting' },
    }),
    getListeners: () => [
      {
        name: 'web',
        bind: '127.0.0.1:8080',
        kinds: ['tcp'],
        state: 'listening',
        maxConnections: 100,
        activeConnections: 2,
        totalConnections: 10,
        rejected: {
          max_connections: 1,
          no_route: 0,
          draining: 0,
          tls_handshake: 0,
          plugin: 0,
          proxy_protocol: 0,
          client_hello: 0,
          handshake: 0,
          not_allowed: 0,
        },
        bytesIn: 100,
        bytesOut: 200,
      },
    ],
    getRoutes: () => {
      if (view.failRoutes) throw new Error('route table unavailable')
      return ROUTES
    },
    getFlows: () => view.flows,
    getPeers: () => PEERS,
    getInstructions: () => INSTRUCTIONS,
    isReady: () => view.ready && view.drains === 0,
    probePeer: async (peer) => {
      if (!PEERS.some((p) => p.name === peer))
        throw new PeerUnknownError(
          peer,
          PEERS.map((p) => p.name),
        )
      return {
        peer,
        throughputBps: 125_000_000,
        bytes: 124_000_000,
        durationMs: 992,
        measuredAt: '2026-01-01T01:00:00.000Z',
      }
    },
    drain: () => {
      view.drains++
    },
    undrain: async () => {
      view.drains = 0
      return 'running'
    },
  }
  return view
}

export interface LogLine {
  readonly level: number
  readonly msg: string
  readonly code?: string
}

export interface Harness {
  readonly view: TestView
  readonly server: AdminServer
  /** `http://127.0.0.1:<port>` whatever the bind host. */
  readonly base: string
  readonly bound: string
  readonly logs: LogLine[]
}

export async function startAdmin(
  opts: { addr?: HostPort; token?: string; viewerToken?: string; hosts?: string[]; view?: TestView } = {},
): Promise<Harness> {
  const view = opts.view ?? testView()
  const logs: LogLine[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(JSON.parse(chunk.toString()) as LogLine)
      done()
    },
  })
  const logger = pino({ level: 'debug' }, sink)
  const metrics = createMetrics(view, { nodeId: 'n1', region: 'eu', version: '0.1.0' })
  const server = createAdminServer({
    view,
    metrics,
    addr: opts.addr ?? { host: '127.0.0.1', port: 0 },
    tokens: {
      operatorToken: opts.token ?? OPERATOR_TOKEN,
      operatorSource: 'common.admin_token',
      ...(opts.viewerToken !== undefined && { viewerToken: opts.viewerToken }),
    },
    hosts: opts.hosts ?? [],
    logger,
  })
  const bound = await server.listen()
  const port = Number(bound.slice(bound.lastIndexOf(':') + 1))
  return { view, server, base: `http://127.0.0.1:${port}`, bound, logs }
}

export const OPERATOR_TOKEN = 'admin-fixture-operator-token'

/** A change as curl or ctl sends it: the operator token and a JSON content type. */
export function change(url: string, init: RequestInit = {}, token = OPERATOR_TOKEN): Promise<Response> {
  return request(url, {
    method: 'POST',
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
  })
}

export interface ErrorJson {
  readonly error: { readonly code: string; readonly message: string }
}

/** fetch with a bound on how long the test waits. */
export function request(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(5000) })
}
