/**
 * The local demo: a Traffic Scheduler, three nodes in three regions, a sample backend behind the
 * third, and link emulators giving the links between the nodes different delays, so that the
 * scheduler's choice is visible (A reaches C faster through B than directly). Everything runs in
 * one process on loopback, from generated configs loaded like any other, secured as in production:
 * the scheduler makes its CA and join token, and each node joins with the token.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { loadConfigText } from '../config/index.ts'
import { type LinkEmulator, startLinkEmulator } from '../link-emulator/emulator.ts'
import type { Logger } from '../log/logger.ts'
import { ProxyNode } from '../node/index.ts'
import { schedulerConfigFromText } from '../scheduler/config/load.ts'
import { type RunningScheduler, startScheduler } from '../scheduler/server.ts'
import { type SampleBackend, startSampleBackend } from './sample-backend.ts'

export interface DemoOptions {
  /** Every port the demo uses is this plus a fixed offset. */
  readonly basePort: number
  readonly stateDir: string
  readonly logger: Logger
}

export interface DemoPorts {
  readonly web: number
  readonly backend: number
  readonly admin: Record<NodeId, number>
  readonly mesh: Record<NodeId, number>
  readonly schedulerGrpc: number
  readonly schedulerApi: number
}

type NodeId = 'a' | 'b' | 'c'

export interface RunningDemo {
  readonly ports: DemoPorts
  readonly links: { readonly ab: LinkEmulator; readonly ac: LinkEmulator; readonly bc: LinkEmulator }
  close(): Promise<void>
}

/** How long the demo waits for the scheduler's first route to reach node a before it says it runs. */
const ROUTE_WAIT_MS = 15_000

async function untilRouted(node: ProxyNode, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!node.getRoutes().some((r) => r.name === 'web' && r.paths.length > 0)) {
    if (Date.now() > deadline) throw new Error(`node a got no route from the scheduler within ${timeoutMs}ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const REGIONS: Record<NodeId, string> = { a: 'us-east', b: 'eu-central', c: 'us-west' }
const DEMO_TOKEN = 'demo-mesh-token-change-me'

export function demoPorts(base: number): DemoPorts {
  return {
    web: base + 80,
    backend: base + 81,
    admin: { a: base + 881, b: base + 882, c: base + 883 },
    mesh: { a: base + 901, b: base + 902, c: base + 903 },
    schedulerGrpc: base + 999,
    schedulerApi: base + 998,
  }
}

export function demoSchedulerYaml(ports: DemoPorts, stateDir: string): string {
  return `scheduler:
  id: demo-scheduler
  listen: 127.0.0.1:${ports.schedulerGrpc}
  api: 127.0.0.1:${ports.schedulerApi}
  store: { type: embedded, path: ${JSON.stringify(join(stateDir, 'scheduler-state.json'))} }
  state_dir: ${JSON.stringify(join(stateDir, 'scheduler'))}
  heartbeat_interval: 2s
  report_interval: 1s
  push_debounce: 200ms
  hysteresis: { relative: 10%, absolute: 5ms, min_dwell: 3s }
  log_level: warn
services:
  - name: web
    ingress: [{ node: a, listener: web }]
    egress: [c]
    targets: ["127.0.0.1:${ports.backend}"]
    objective: latency
    alternatives: 2
`
}

/**
 * Each node reaches its peers through the link emulators (`via[peer]`), not their mesh ports, and
 * joins the scheduler with its token.
 */
export function demoNodeYaml(
  id: NodeId,
  ports: DemoPorts,
  stateDir: string,
  via: Partial<Record<NodeId, number>>,
  joinToken: string,
): string {
  const peers = Object.entries(via)
    .map(
      ([peer, port]) =>
        `  - { name: ${peer}, address: "127.0.0.1:${port}", region: ${REGIONS[peer as NodeId]} }`,
    )
    .join('\n')
  const listeners = id === 'a' ? `listeners:\n  - { name: web, bind: "127.0.0.1:${ports.web}" }\n` : ''
  return `common:
  node_id: ${id}
  region: ${REGIONS[id]}
  admin_addr: 127.0.0.1:${ports.admin[id]}
  state_dir: ${JSON.stringify(join(stateDir, id))}
  drain_timeout: 2s
  log_level: warn
${listeners}mesh:
  bind: 127.0.0.1:${ports.mesh[id]}
  token: ${DEMO_TOKEN}
peers:
${peers || '  []'}
scheduler:
  address: 127.0.0.1:${ports.schedulerGrpc}
  retry_interval: 500ms
  heartbeat_interval: 2s
  join_token: ${joinToken}
`
}

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const ports = demoPorts(options.basePort)
  const started: { close(): Promise<void> }[] = []
  const closeAll = async () => {
    for (const part of started.reverse()) await part.close()
  }
  try {
    await mkdir(options.stateDir, { recursive: true })
    const backend: SampleBackend = await startSampleBackend(
      'the demo backend (behind node c)',
      '127.0.0.1',
      ports.backend,
    )
    started.push(backend)
    const scheduler: RunningScheduler = await startScheduler(
      schedulerConfigFromText(demoSchedulerYaml(ports, options.stateDir), 'demo-scheduler.yaml'),
      { logger: options.logger },
    )
    started.push(scheduler)
    const joinToken = scheduler.authority?.joinToken
    if (joinToken === undefined) throw new Error('the demo scheduler runs secure: it must have a join token')
    const link = async (to: NodeId, delayMs: number) => {
      const emulator = await startLinkEmulator({
        target: { host: '127.0.0.1', port: ports.mesh[to] },
        delayMs,
      })
      started.push(emulator)
      return emulator
    }
    const links = { ab: await link('b', 5), ac: await link('c', 40), bc: await link('c', 5) }
    const via: Record<NodeId, Partial<Record<NodeId, number>>> = {
      a: { b: links.ab.port, c: links.ac.port },
      b: { c: links.bc.port },
      c: {},
    }
    let ingress: ProxyNode | undefined
    for (const id of ['c', 'b', 'a'] as const) {
      const config = loadConfigText(
        demoNodeYaml(id, ports, options.stateDir, via[id], joinToken),
        `demo-node-${id}.yaml`,
      )
      const node = new ProxyNode(config, { logger: options.logger.child({ node: id }) })
      await node.start()
      started.push({ close: () => node.close() })
      ingress = node
    }
    await untilRouted(ingress as ProxyNode, ROUTE_WAIT_MS)
    return { ports, links, close: closeAll }
  } catch (err) {
    await closeAll()
    throw err
  }
}
