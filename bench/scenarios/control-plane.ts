import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createTestPki } from '../../test/helpers/certs.ts'
import { nodeCertificates } from '../../test/helpers/node-certs.ts'
import { cliPath } from '../candidates/dynproxy.ts'
import type { Settings } from '../context.ts'
import { READY_TIMEOUT_MS, type RunContext } from '../context.ts'
import { SimFleet, type SimNode } from '../control-plane/sim-nodes.ts'
import {
  BENCH_API_TOKEN,
  egressIds,
  nodeId,
  regionOf,
  SERVICE,
  SERVICE_KINDS,
  type ServiceKind,
  schedulerYaml,
  serviceDocument,
  syntheticLinks,
  TARGET_AFTER,
  TARGET_BEFORE,
} from '../control-plane/topology.ts'
import { BenchArgumentError, BenchSetupError } from '../errors.ts'
import { percentile } from '../stats.ts'
import { freePort, HOST, waitForPort } from '../sys/net.ts'
import { treeRssKiB } from '../sys/procfs.ts'
import type { ArrangedScenario, MetricSpec, Sample } from './types.ts'

export const NODE_COUNTS = { quick: [100], full: [500, 2_000] } as const
const LINKS_PER_NODE = 8
const EGRESS_NODES = 10
const SEED = 42
/** Nodes saying hello at once; each batch waits for its first sets. */
const CONNECT_BATCH = 100
const HEARTBEAT_EVERY_MS = 10_000
/** No set pushed for this long after the reports: the plan has settled. */
const QUIET_MS = 1_500
const SETTLE_TIMEOUT_MS = 180_000
/** For all hellos together: the scheduler plans on every hello, so this phase grows fastest with N. */
const CONNECT_TIMEOUT_MS = 180_000
const CHANGE_TIMEOUT_MS = 120_000
const POLL_MS = 20

/**
 * `DYNPROXY_BENCH_PLAINTEXT=1`: the scheduler runs `insecure` and the nodes speak h2c, to tell the
 * cost of mutual TLS (the default, as in production) from the rest.
 */
export function plaintext(chosen = process.env.DYNPROXY_BENCH_PLAINTEXT): boolean {
  return chosen === '1'
}

/** `DYNPROXY_BENCH_NODES=500,2000` picks the sizes: one to profile, or larger meshes. */
export function nodeCounts(settings: Settings, chosen = process.env.DYNPROXY_BENCH_NODES): readonly number[] {
  if (chosen === undefined || chosen.trim() === '')
    return settings.quick ? NODE_COUNTS.quick : NODE_COUNTS.full
  const counts = chosen.split(',').map((c) => Number(c.trim()))
  if (!counts.every((n) => Number.isInteger(n) && n >= 2))
    throw new BenchArgumentError('DYNPROXY_BENCH_NODES', chosen, ['500', '500,2000', 'any node counts ≥ 2'])
  return counts
}

export function controlPlaneMetrics(counts: readonly number[]): MetricSpec[] {
  return counts.flatMap((n) => [
    { key: `ack_p50_ms_${n}`, label: `${n} nodes: ACK p50`, unit: 'ms', better: 'lower' as const },
    { key: `ack_p99_ms_${n}`, label: `${n} nodes: ACK p99`, unit: 'ms', better: 'lower' as const },
    { key: `ack_max_ms_${n}`, label: `${n} nodes: ACK max`, unit: 'ms', better: 'lower' as const },
    { key: `recompute_ms_${n}`, label: `${n} nodes: recompute`, unit: 'ms', better: 'lower' as const },
  ])
}

/** The steps measured per service kind (SERVICE_KINDS): a switch to it, then a target change. */
const KIND_STEPS = ['switch', 'change'] as const
type KindStep = (typeof KIND_STEPS)[number]

/** Per node count, service kind and step: ACK p99 and the recompute (p50 goes to the raw record). */
export function kindMetrics(counts: readonly number[]): MetricSpec[] {
  return counts.flatMap((n) =>
    SERVICE_KINDS.flatMap(({ name }) =>
      KIND_STEPS.flatMap((step) => [
        {
          key: `${name}_${step}_ack_p99_ms_${n}`,
          label: `${n} nodes, ${name} ${step}: ACK p99`,
          unit: 'ms',
          better: 'lower' as const,
        },
        {
          key: `${name}_${step}_recompute_ms_${n}`,
          label: `${n} nodes, ${name} ${step}: recompute`,
          unit: 'ms',
          better: 'lower' as const,
        },
      ]),
    ),
  )
}

/** PUT → each node's ACK of its new set, in ms, ascending; p50/p99/max of them. */
export function ackSummary(latenciesMs: readonly number[]): { p50: number; p99: number; max: number } {
  const sorted = [...latenciesMs].sort((a, b) => a - b)
  return {
    p50: percentile(sorted, 50) ?? 0,
    p99: percentile(sorted, 99) ?? 0,
    max: sorted.at(-1) ?? 0,
  }
}

/** Polls `check`; fails after `timeoutMs`, naming `limitMs` (the whole phase's budget) as the limit. */
async function until(
  check: () => boolean,
  what: string,
  timeoutMs: number,
  detail: () => string,
  limitMs = timeoutMs,
): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > deadline) throw new BenchSetupError(what, limitMs, detail())
    await sleep(POLL_MS)
  }
}

async function api(address: string, path: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(`http://${address}${path}`, { ...init, signal: AbortSignal.timeout(30_000) })
  const body: unknown = await res.json()
  if (!res.ok) throw new BenchSetupError(`scheduler api ${path}`, 0, JSON.stringify(body).slice(0, 300))
  return body
}

function ended(nodes: readonly SimNode[]): string {
  const gone = nodes.filter((n) => n.ended)
  return gone.length === 0
    ? 'no stream ended'
    : `${gone.length} streams ended, first: ${String(gone[0]?.error)}`
}

async function connectAll(fleet: SimFleet, count: number): Promise<void> {
  const deadline = performance.now() + CONNECT_TIMEOUT_MS
  for (let start = 0; start < count; start += CONNECT_BATCH) {
    const batch = Array.from({ length: Math.min(CONNECT_BATCH, count - start) }, (_, k) =>
      fleet.add(nodeId(start + k), regionOf(start + k, count)),
    )
    await until(
      () => batch.every((n) => n.acks.length > 0),
      `${count} nodes connected`,
      Math.max(0, deadline - performance.now()),
      () => `${start + batch.filter((n) => n.acks.length > 0).length} had their first set (${ended(batch)})`,
      CONNECT_TIMEOUT_MS,
    )
  }
}

interface ChangeResult {
  readonly latencies: number[]
  readonly recomputeMs: number | null
}

interface SizeResult {
  readonly latency: ChangeResult
  /** By SERVICE_KINDS name; an error where that switch could not be measured. */
  readonly kinds: ReadonlyMap<string, ChangeResult | Error>
  readonly connectS: number
  readonly settleS: number
  readonly rssKiB: number
}

/**
 * PUT the service with `target` (and `kind`); every node's first ACK of a set naming that target,
 * from the PUT, and the scheduler's recompute for it.
 */
async function measureChange(
  address: string,
  fleet: SimFleet,
  count: number,
  target: string,
  kind: ServiceKind = {},
): Promise<ChangeResult> {
  const nodes = fleet.nodes
  const before = nodes.map((n) => n.acks.length)
  const changed = (n: SimNode, i: number) => n.acks.slice(before[i]).find((a) => a.target === target)
  const putAt = performance.now()
  await api(address, `/services/${SERVICE}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BENCH_API_TOKEN}` },
    body: JSON.stringify(serviceDocument(count, egressIds(count, EGRESS_NODES), target, kind)),
  })
  await until(
    () => nodes.every((n, i) => changed(n, i) !== undefined),
    'every node ACKing the changed service',
    CHANGE_TIMEOUT_MS,
    () =>
      `${nodes.filter((n, i) => changed(n, i) === undefined).length} of ${count} still without it; ${ended(nodes)}`,
  )
  const latencies = nodes.map((n, i) => (changed(n, i)?.atMs ?? putAt) - putAt)
  const status = (await api(address, '/status')) as {
    lastRecompute?: { durationMs?: number; reason?: string }
  }
  const last = status.lastRecompute
  return {
    latencies,
    recomputeMs: last?.reason?.startsWith(`service ${SERVICE}`) ? (last.durationMs ?? null) : null,
  }
}

/** Until no set has gone out for QUIET_MS: the last change's pushes and ACKs are over. */
async function quiet(fleet: SimFleet): Promise<void> {
  await until(
    () => performance.now() - fleet.lastSetAtMs > QUIET_MS,
    'the scheduler going quiet',
    SETTLE_TIMEOUT_MS,
    () => ended(fleet.nodes),
  )
}

/** Each kind in turn, switched to then changed; a step that fails is noted and the next one run. */
async function measureKinds(
  address: string,
  fleet: SimFleet,
  count: number,
): Promise<Map<string, ChangeResult | Error>> {
  const results = new Map<string, ChangeResult | Error>()
  for (const { name, kind, switchTarget, changeTarget } of SERVICE_KINDS) {
    const targets: Record<KindStep, string> = { switch: switchTarget, change: changeTarget }
    for (const step of KIND_STEPS) {
      try {
        await quiet(fleet)
        results.set(`${name}_${step}`, await measureChange(address, fleet, count, targets[step], kind))
      } catch (err) {
        results.set(`${name}_${step}`, err as Error)
      }
    }
  }
  return results
}

async function runSize(ctx: RunContext, count: number): Promise<SizeResult> {
  // A directory per round: the scheduler's state binds each node id to the key it first joined
  // with, and every round's simulated nodes have a key of their own.
  const dir = mkdtempSync(join(ctx.tmpDir, `scheduler-${count}-`))
  const [grpcPort, apiPort] = [await freePort(), await freePort()]
  const file = join(dir, 'scheduler.yaml')
  const egress = egressIds(count, EGRESS_NODES)
  const pki = plaintext() ? undefined : await createTestPki([])
  const files = await pki?.writeTo(join(dir, 'pki'))
  writeFileSync(
    file,
    schedulerYaml({
      grpcPort,
      apiPort,
      statePath: join(dir, 'state.json'),
      nodes: count,
      egress,
      ...(files && { ca: { cert: files.caFile, key: files.caKeyFile } }),
    }),
  )
  const tracked = ctx.procs.start(
    'dynproxy scheduler',
    process.execPath,
    [cliPath(ctx), 'scheduler', '-c', file],
    {
      fdLimit: ctx.fdLimit,
    },
  )
  const address = `${HOST}:${apiPort}`
  const fleet = new SimFleet(`${HOST}:${grpcPort}`, pki && (await nodeCertificates(pki.ca)))
  const beat = setInterval(() => {
    for (const n of fleet.nodes) n.heartbeat()
  }, HEARTBEAT_EVERY_MS)
  try {
    await waitForPort(tracked, apiPort, READY_TIMEOUT_MS)
    const started = performance.now()
    await connectAll(fleet, count)
    const connected = performance.now()
    ctx.progress?.(
      `control-plane: ${count} nodes connected in ${((connected - started) / 1000).toFixed(1)} s`,
    )
    const links = syntheticLinks(count, LINKS_PER_NODE, SEED)
    for (const [i, n] of fleet.nodes.entries()) n.report(links[i] ?? [])
    const routeless = () => fleet.nodes.filter((n) => n.acks.at(-1)?.target !== TARGET_BEFORE)
    // Quiet alone is not enough: a recompute of thousands of nodes can take longer than QUIET_MS.
    await until(
      () => performance.now() - Math.max(fleet.lastSetAtMs, connected) > QUIET_MS && routeless().length === 0,
      'the plan settling after the link reports',
      SETTLE_TIMEOUT_MS,
      () => `${routeless().length} nodes without a route; ${ended(fleet.nodes)}`,
    )
    const settled = performance.now()
    ctx.progress?.(
      `control-plane: ${count} nodes settled ${((settled - connected) / 1000).toFixed(1)} s after the reports`,
    )
    // The harness's first request loads and connects its HTTP client: not the scheduler's time.
    await api(address, '/status')
    const latency = await measureChange(address, fleet, count, TARGET_AFTER)
    const kinds = await measureKinds(address, fleet, count)
    return {
      latency,
      kinds,
      connectS: (connected - started) / 1000,
      settleS: (settled - connected) / 1000,
      rssKiB: treeRssKiB(tracked.pid),
    }
  } finally {
    clearInterval(beat)
    fleet.close()
    await ctx.procs.stop(tracked)
  }
}

export const controlPlane: ArrangedScenario = {
  name: 'control-plane',
  title: 'Control plane: a service change reaching every node',
  method: (ctx) =>
    `One \`dynproxy scheduler\` process and ${nodeCounts(ctx.settings).join(', then ')} simulated nodes in the ` +
    `harness (gRPC streams, one HTTP/2 connection each, ${plaintext() ? 'plaintext (DYNPROXY_BENCH_PLAINTEXT=1)' : "mutual TLS with a certificate per node from the scheduler's CA"}), every node an ingress of one service with ` +
    `${EGRESS_NODES} egress nodes, ${LINKS_PER_NODE} links per node reported once (ring + random chords, ` +
    'RTT 1–50 ms, 10–1000 Mbit/s, 8 regions with prices between them). After the plan settles, PUT ' +
    '/services/web changes its target: time from the PUT until each node has ACKed the set with the new ' +
    "target (p50/p99/max over nodes), and the scheduler's recompute for that change (GET /status " +
    'lastRecompute.durationMs). Then, for each of ' +
    `${SERVICE_KINDS.map((k) => k.name).join(', ')} (objective cost; multipath stripe over 2 disjoint ` +
    'paths; objective throughput): the service is switched to it with a new target, which plans every ' +
    'ingress anew on the same graph as a link report would (switch), then only its target changes ' +
    '(change, like the latency measurement)',
  tools: [],
  metrics: [...controlPlaneMetrics(NODE_COUNTS.full), ...kindMetrics(NODE_COUNTS.full)],
  metricsFor: (settings) => [
    ...controlPlaneMetrics(nodeCounts(settings)),
    ...kindMetrics(nodeCounts(settings)),
  ],
  needsProxyProcess: false,
  unsupported: (candidate) => (candidate.name === 'dynproxy' ? undefined : 'has no control plane'),
  async run(ctx) {
    const values: Record<string, number | null> = {}
    const extra: Record<string, number> = {}
    const notes: string[] = []
    for (const n of nodeCounts(ctx.settings)) {
      let r: SizeResult
      try {
        r = await runSize(ctx, n)
      } catch (err) {
        notes.push(`${n} nodes not measured: ${(err as Error).message}`)
        for (const m of [...controlPlaneMetrics([n]), ...kindMetrics([n])]) values[m.key] = null
        continue
      }
      const ack = ackSummary(r.latency.latencies)
      values[`ack_p50_ms_${n}`] = ack.p50
      values[`ack_p99_ms_${n}`] = ack.p99
      values[`ack_max_ms_${n}`] = ack.max
      values[`recompute_ms_${n}`] = r.latency.recomputeMs
      for (const [step, result] of r.kinds) {
        if (result instanceof Error) {
          notes.push(`${n} nodes, ${step.replace('_', ' ')} not measured: ${result.message}`)
          values[`${step}_ack_p99_ms_${n}`] = null
          values[`${step}_recompute_ms_${n}`] = null
          continue
        }
        const kindAck = ackSummary(result.latencies)
        extra[`${step}_ack_p50_ms_${n}`] = kindAck.p50
        values[`${step}_ack_p99_ms_${n}`] = kindAck.p99
        values[`${step}_recompute_ms_${n}`] = result.recomputeMs
      }
      extra[`connect_s_${n}`] = r.connectS
      extra[`settle_s_${n}`] = r.settleS
      extra[`scheduler_rss_kib_${n}`] = r.rssKiB
    }
    return { values, extra, notes } satisfies Sample
  },
}
