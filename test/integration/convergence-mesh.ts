/**
 * A real scheduler and three real nodes for convergence tests: service `web` enters at A and
 * leaves at C, either directly (A→C) or through B (A→B→C). Every mesh link goes through its own
 * link emulator, so a test changes delays and jitter while flows and probes run, and the nodes
 * measure the change as they would on a real network (production probe interval unless told).
 *
 * A timeline samples, every few milliseconds, what each part knows: A's own measurements, the
 * links the scheduler holds, the path the scheduler chose, and the path A runs. It tells where the
 * time between a link's change and the new set applied goes.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { type RunningScheduler, startScheduler } from '../../src/scheduler/server.ts'
import {
  type LinkEmulator,
  type LinkShapeUpdate,
  startLinkEmulator,
} from '../../src/testing/link-emulator.ts'
import { freePorts, TEST_TOKEN } from '../../src/testing/mesh-harness.ts'
import { startTestNode, type TestNode } from '../../src/testing/node-harness.ts'

export type LinkName = 'ab' | 'ac' | 'bc'
export type Route = 'direct' | 'relayed'

export interface ConvergenceMeshOptions {
  /** State files go under it; made if missing. */
  readonly dir: string
  /** Where the service's flows go. */
  readonly target: string
  readonly reportInterval: string
  readonly minDwell: string
  /** The nodes' ping interval; the production default unless told. */
  readonly probeInterval?: string
  /** One-way shape of each link at start. */
  readonly links: Readonly<Record<LinkName, LinkShapeUpdate>>
  /** Extra lines in the scheduler section, two-space indented. */
  readonly schedulerExtra?: string
}

export interface ConvergenceMesh {
  readonly scheduler: RunningScheduler
  readonly nodes: Readonly<Record<'a' | 'b' | 'c', TestNode>>
  readonly links: Readonly<Record<LinkName, LinkEmulator>>
  /** The route A runs now for `web` (its first path), if any. */
  routeAtA(): Route | undefined
  /** The route the scheduler has chosen for `web` at A, if any. */
  chosen(): Route | undefined
  close(): Promise<void>
}

export async function startConvergenceMesh(o: ConvergenceMeshOptions): Promise<ConvergenceMesh> {
  await mkdir(o.dir, { recursive: true })
  const p = await freePorts(['a', 'b', 'c', 'web', 'sched'])
  const scheduler = await startScheduler(
    schedulerConfigFromText(`scheduler:
  listen: 127.0.0.1:${p.sched}
  api: 127.0.0.1:0
  store: { type: embedded, path: ${join(o.dir, 'state.json')} }
  report_interval: ${o.reportInterval}
  capacity_probe_interval: 0s
  hysteresis: { min_dwell: ${o.minDwell} }
${o.schedulerExtra ?? ''}  log_level: warn
services:
  - name: web
    ingress: [{ node: a, listener: web }]
    egress: [c]
    targets: ["${o.target}"]
`),
    { logger: silentLogger() },
  )
  const emulate = (port: number, shape: LinkShapeUpdate) =>
    startLinkEmulator({ target: { host: '127.0.0.1', port }, ...shape })
  const links = {
    ab: await emulate(p.b, o.links.ab),
    ac: await emulate(p.c, o.links.ac),
    bc: await emulate(p.c, o.links.bc),
  }
  const probe = o.probeInterval ?? '1s'
  const node = (id: string, peers: { id: string; port: number }[], extra = '') =>
    startTestNode(`common: { node_id: ${id}, admin_addr: "127.0.0.1:0", drain_timeout: 1s, state_dir: "${join(o.dir, id)}" }
mesh:
  bind: "127.0.0.1:${p[id as 'a' | 'b' | 'c']}"
  token: "${TEST_TOKEN}"
  probe_interval: ${probe}
  connect_timeout: 1s
peers:
${peers.map((peer) => `  - { name: ${peer.id}, address: "127.0.0.1:${peer.port}" }`).join('\n') || '  []'}
${extra}scheduler:
  address: "127.0.0.1:${p.sched}"
  retry_interval: 100ms
`)
  const c = await node('c', [])
  const b = await node('b', [{ id: 'c', port: links.bc.port }])
  const a = await node(
    'a',
    [
      { id: 'b', port: links.ab.port },
      { id: 'c', port: links.ac.port },
    ],
    `listeners:\n  - { name: web, bind: "127.0.0.1:${p.web}" }\n`,
  )
  const nodes = { a, b, c }
  const routeOf = (hops: readonly string[] | undefined): Route | undefined => {
    if (hops === undefined) return undefined
    return hops.length === 1 ? 'direct' : 'relayed'
  }
  return {
    scheduler,
    nodes,
    links,
    routeAtA: () => routeOf(a.node.getInstructions()?.routes[0]?.paths[0]?.hops),
    chosen: () => {
      const choices = [...scheduler.core.currentPlan.choices.values()]
      return routeOf(choices[0]?.path.nodes.slice(1))
    },
    async close() {
      for (const n of [a, b, c]) await n.close()
      await scheduler.close()
      for (const l of Object.values(links)) await l.close()
    },
  }
}

/** Milliseconds from a change to each step that knows of it; undefined: not within the wait. */
export interface SwitchTimeline {
  /** A's (and B's) own smoothed measurements favour the new route by the hysteresis margins. */
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

type Rtts = Partial<Record<LinkName, { rttMs: number; jitterMs: number }>>

/** What a link weighs for a latency objective when nothing is lost (docs/path-computation.md). */
function weight(link: { rttMs: number; jitterMs: number } | undefined): number {
  return link === undefined ? Number.POSITIVE_INFINITY : link.rttMs + 0.5 * link.jitterMs
}

/** Whether `rtts` make `to` better than the other route by both margins. */
export function favours(rtts: Rtts, to: Route, m: Margins): boolean {
  const direct = weight(rtts.ac)
  const relayed = weight(rtts.ab) + weight(rtts.bc)
  const [better, worse] = to === 'direct' ? [direct, relayed] : [relayed, direct]
  const gain = worse - better
  return Number.isFinite(better) && gain >= m.absoluteMs && gain >= m.relative * worse
}

/** The links as the nodes measure them now. */
export function measuredRtts(mesh: ConvergenceMesh): Rtts {
  const of = (node: TestNode, peer: string) => {
    const s = node.node.getPeers().find((p) => p.name === peer)
    return s?.rttMs === undefined ? undefined : { rttMs: s.rttMs, jitterMs: s.jitterMs ?? 0 }
  }
  return { ab: of(mesh.nodes.a, 'b'), ac: of(mesh.nodes.a, 'c'), bc: of(mesh.nodes.b, 'c') }
}

/** The links as the scheduler holds them now. */
export function reportedRtts(mesh: ConvergenceMesh): Rtts {
  const out: Record<string, { rttMs: number; jitterMs: number }> = {}
  for (const l of mesh.scheduler.core.links.list(Date.now(), Number.POSITIVE_INFINITY)) {
    if (l.up) out[`${l.from}${l.to}`] = { rttMs: l.rttMs, jitterMs: l.jitterMs }
  }
  return out
}

/**
 * Calls `change`, then samples every few milliseconds until A runs `to` or `waitMs` passes: when
 * each part first knew.
 */
export async function timeSwitch(
  mesh: ConvergenceMesh,
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
    mark('measuredMs', favours(measuredRtts(mesh), to, m))
    mark('reportedMs', favours(reportedRtts(mesh), to, m))
    mark('chosenMs', mesh.chosen() === to)
    mark('appliedMs', mesh.routeAtA() === to)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  return t
}
