/**
 * A real scheduler and real nodes for convergence tests: service `web` enters at A and leaves at
 * C, over whichever links the test names (`ab`, `ac`, `bc`, `ad`, `dc`: from the first node to the
 * second). Every link goes through its own link emulator, so a test changes delays and jitter
 * while probes run, and the nodes measure the change as they would on a real network (at the
 * production probe interval unless told). Routes are named by their hops after A: `c`, `b>c`.
 *
 * A timeline samples, every few milliseconds, what each part knows: the nodes' own measurements,
 * the links the scheduler holds, the path the scheduler chose, and the path A runs. It tells
 * where the time between a link's change and the new set applied goes.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type LinkEmulator,
  type LinkShapeUpdate,
  startLinkEmulator,
} from '../../src/link-emulator/emulator.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { type RunningScheduler, startScheduler } from '../../src/scheduler/server.ts'
import { freePorts, TEST_TOKEN } from '../helpers/mesh-harness.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'

export type NodeName = 'a' | 'b' | 'c' | 'd'
export type LinkName = 'ab' | 'ac' | 'bc' | 'ad' | 'dc'
/** A route by its hops after A, `>`-joined: `c`, `b>c`. */
export type Route = string

export interface ConvergenceMeshOptions {
  /** State files go under it; made if missing. */
  readonly dir: string
  /** Where the service's flows go. */
  readonly target: string
  readonly reportInterval: string
  readonly minDwell: string
  /** The nodes' ping interval; the production default unless told. */
  readonly probeInterval?: string
  /** The links there are, each with its one-way shape at start. */
  readonly links: Readonly<Partial<Record<LinkName, LinkShapeUpdate>>>
}

export interface ConvergenceMesh {
  readonly scheduler: RunningScheduler
  readonly nodes: Readonly<Partial<Record<NodeName, TestNode>>> & { readonly a: TestNode }
  readonly links: Readonly<Partial<Record<LinkName, LinkEmulator>>>
  /** Changes the shapes of links, each from now on. */
  shape(update: Readonly<Partial<Record<LinkName, LinkShapeUpdate>>>): void
  /** The route A runs now for `web` (its first path), if any. */
  routeAtA(): Route | undefined
  /** The route the scheduler has chosen for `web` at A, if any. */
  chosen(): Route | undefined
  close(): Promise<void>
}

export async function startConvergenceMesh(o: ConvergenceMeshOptions): Promise<ConvergenceMesh> {
  await mkdir(o.dir, { recursive: true })
  const names = Object.keys(o.links) as LinkName[]
  const used = [...new Set(['a', 'c', ...names.flatMap((l) => l.split(''))])].sort() as NodeName[]
  const p = await freePorts([...used, 'web', 'sched'] as const)
  const scheduler = await startScheduler(
    schedulerConfigFromText(`scheduler:
  listen: 127.0.0.1:${p.sched}
  api: 127.0.0.1:0
  store: { type: embedded, path: ${join(o.dir, 'state.json')} }
  report_interval: ${o.reportInterval}
  capacity_probe_interval: 0s
  hysteresis: { min_dwell: ${o.minDwell} }
  log_level: warn
services:
  - name: web
    ingress: [{ node: a, listener: web }]
    egress: [c]
    targets: ["${o.target}"]
`),
    { logger: silentLogger() },
  )
  const links: Partial<Record<LinkName, LinkEmulator>> = {}
  for (const name of names) {
    const to = name[1] as NodeName
    links[name] = await startLinkEmulator({ target: { host: '127.0.0.1', port: p[to] }, ...o.links[name] })
  }
  const probe = o.probeInterval ?? '1s'
  const node = (id: NodeName) => {
    const peers = names.filter((l) => l[0] === id).map((l) => ({ id: l[1], port: links[l]?.port }))
    const listener = id === 'a' ? `listeners:\n  - { name: web, bind: "127.0.0.1:${p.web}" }\n` : ''
    return startTestNode(`common: { node_id: ${id}, admin_addr: "127.0.0.1:0", drain_timeout: 1s, state_dir: "${join(o.dir, id)}" }
mesh:
  bind: "127.0.0.1:${p[id]}"
  token: "${TEST_TOKEN}"
  probe_interval: ${probe}
  connect_timeout: 1s
peers:
${peers.map((peer) => `  - { name: ${peer.id}, address: "127.0.0.1:${peer.port}" }`).join('\n') || '  []'}
${listener}scheduler:
  address: "127.0.0.1:${p.sched}"
  retry_interval: 100ms
  join_token: ${scheduler.authority?.joinToken}
`)
  }
  // The egress first, the ingress last: every peer a node names is there when it starts.
  const nodes: Partial<Record<NodeName, TestNode>> = {}
  for (const id of ['c', ...used.filter((n) => n !== 'a' && n !== 'c'), 'a'] as NodeName[]) {
    nodes[id] = await node(id)
  }
  const a = nodes.a as TestNode
  const routeOf = (hops: readonly string[] | undefined) => hops?.join('>')
  return {
    scheduler,
    nodes: { ...nodes, a },
    links,
    shape(update) {
      for (const [name, shape] of Object.entries(update)) links[name as LinkName]?.set(shape)
    },
    routeAtA: () => routeOf(a.node.getInstructions()?.routes[0]?.paths[0]?.hops),
    chosen: () => {
      const choices = [...scheduler.core.currentPlan.choices.values()]
      return routeOf(choices[0]?.path.nodes.slice(1))
    },
    async close() {
      for (const n of Object.values(nodes)) await n.close()
      await scheduler.close()
      for (const l of Object.values(links)) await l.close()
    },
  }
}

/** Milliseconds from a change to each step that knows of it; undefined: not within the wait. */
export interface SwitchTimeline {
  /** The nodes' own smoothed measurements favour the new route by the hysteresis margins. */
  readonly measuredMs: number | undefined
  /** The links the scheduler holds favour it so. */
  readonly reportedMs: number | undefined
  /** The scheduler chose it. */
  readonly chosenMs: number | undefined
  /** A runs it. */
  readonly appliedMs: number | undefined
}

export interface Margins {
  readonly relative: number
  readonly absoluteMs: number
}

type Rtts = Partial<Record<string, { rttMs: number; jitterMs: number }>>

/** What a route weighs for a latency objective when nothing is lost (docs/path-computation.md). */
function weight(rtts: Rtts, route: Route): number {
  const nodes = ['a', ...route.split('>')]
  let sum = 0
  for (let i = 1; i < nodes.length; i++) {
    const link = rtts[`${nodes[i - 1]}${nodes[i]}`]
    if (link === undefined) return Number.POSITIVE_INFINITY
    sum += link.rttMs + 0.5 * link.jitterMs
  }
  return sum
}

/** Whether `rtts` make `to` better than `from` by both margins. */
export function favours(rtts: Rtts, to: Route, from: Route, m: Margins): boolean {
  const better = weight(rtts, to)
  const worse = weight(rtts, from)
  const gain = worse - better
  return Number.isFinite(better) && gain >= m.absoluteMs && gain >= m.relative * worse
}

/** The links as the nodes measure them now. */
export function measuredRtts(mesh: ConvergenceMesh): Rtts {
  const out: Rtts = {}
  for (const name of Object.keys(mesh.links) as LinkName[]) {
    const s = mesh.nodes[name[0] as NodeName]?.node.getPeers().find((p) => p.name === name[1])
    if (s?.rttMs !== undefined) out[name] = { rttMs: s.rttMs, jitterMs: s.jitterMs ?? 0 }
  }
  return out
}

/** The links as the scheduler holds them now. */
export function reportedRtts(mesh: ConvergenceMesh): Rtts {
  const out: Rtts = {}
  for (const l of mesh.scheduler.core.links.list(Date.now(), Number.POSITIVE_INFINITY)) {
    if (l.up) out[`${l.from}${l.to}`] = { rttMs: l.rttMs, jitterMs: l.jitterMs }
  }
  return out
}

/**
 * Calls `change`, then samples every few milliseconds until A runs `to` (instead of `from`) or
 * `waitMs` passes: when each part first knew.
 */
export async function timeSwitch(
  mesh: ConvergenceMesh,
  from: Route,
  to: Route,
  change: () => void,
  m: Margins,
  waitMs: number,
): Promise<SwitchTimeline> {
  const started = performance.now()
  change()
  const t: { -readonly [K in keyof SwitchTimeline]: number | undefined } = {
    measuredMs: undefined,
    reportedMs: undefined,
    chosenMs: undefined,
    appliedMs: undefined,
  }
  const mark = (key: keyof SwitchTimeline, now: boolean) => {
    if (now && t[key] === undefined) t[key] = Math.round(performance.now() - started)
  }
  while (t.appliedMs === undefined && performance.now() - started < waitMs) {
    mark('measuredMs', favours(measuredRtts(mesh), to, from, m))
    mark('reportedMs', favours(reportedRtts(mesh), to, from, m))
    mark('chosenMs', mesh.chosen() === to)
    mark('appliedMs', mesh.routeAtA() === to)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return t
}
