/**
 * A chaos run: start the mesh, wait until it has settled, run probe and long flows throughout, and
 * inject faults (seeded lanes side by side, or a fixed list one after the other) for the fault
 * phase; then wait for the mesh to settle once more, end the flows, and judge every one of them.
 *
 *   start ─▶ settled? ─▶ load ─▶ faults (lanes) ─▶ settled? ─▶ load stopped ─▶ verdicts ─▶ summary
 */
import { performance } from 'node:perf_hooks'
import { ChaosSetupError } from '../errors.ts'
import { readCpuTicks } from '../process.ts'
import { ConvergenceWatch, judgeConvergence, takeSnapshot } from './converge.ts'
import {
  type FaultKind,
  type FaultPlan,
  LANE_NAMES,
  LANES,
  type LaneClock,
  type LaneName,
  laneFaults,
  laneStep,
  locksOf,
} from './faults.ts'
import { type FaultContext, type FaultRecord, runFault } from './inject.ts'
import { type FlowRecord, startLoad } from './load.ts'
import {
  type AccessEntry,
  type ByteSample,
  parseNodeLine,
  peakBytesPerMinute,
  VersionLedger,
} from './logs.ts'
import { type ChaosSummary, type JudgedFlow, type ProcessCost, summarize } from './report.ts'
import { Timeline } from './timeline.ts'
import { chaosPaths, INGRESS, PROBE_SERVICE, STREAM_SERVICE } from './topology.ts'
import { type EmptySet, judgeEmptySet, judgeFlow, pairAccessLines } from './verdict.ts'
import { type ChaosWorld, startWorld } from './world.ts'

export interface ChaosOptions {
  readonly seed: number
  /** How long faults are injected; the run takes longer (start, final settling, flows ending). */
  readonly faultPhaseMs: number
  /** Only these kinds (all when empty or absent). */
  readonly kinds?: readonly FaultKind[]
  /** Exactly these faults, one after the other, instead of the seeded lanes. */
  readonly sequence?: readonly FaultPlan[]
  /**
   * Go on past the fault phase, with the kinds that have fewer faults than this, until every kind
   * has as many (for at most twice the phase again).
   */
  readonly atLeastPerKind?: number
  readonly probeEveryMs?: number
  readonly longFlows?: number
  readonly convergeBoundMs?: number
  readonly settleMs?: number
  readonly logBudgetBytesPerMinute?: number
  /** One line per fault as it ends, and a few about the run. */
  readonly progress?: (line: string) => void
}

const DEFAULTS = {
  probeEveryMs: 300,
  longFlows: 2,
  convergeBoundMs: 10_000,
  /** A path back from a fault counts as working once the mesh has had its convergence bound. */
  settleMs: 10_000,
  logBudgetBytesPerMinute: 256 * 1024,
}

const START_SETTLE_MS = 60_000
const SAMPLE_EVERY_MS = 5_000
const FLOW_STALL_MS = 10_000
/** Lines of flows that just ended may still be in the pipes. */
const LOG_DRAIN_MS = 500
const CLOCK_TICKS_PER_SECOND = 100

/**
 * Named locks (`relay`, `egresses`), held by a fault for the nodes it kills or pauses (the nodes
 * lane, and the control lane's restarts), so that two faults never stop the same node.
 */
class NodeLocks {
  readonly #tails = new Map<string, Promise<void>>()

  /** Takes the locks in one order (by name), so two faults cannot wait for each other. */
  async lock(nodes: readonly string[]): Promise<() => void> {
    const releases: (() => void)[] = []
    for (const node of [...new Set(nodes)].sort()) {
      let release = () => {}
      const next = new Promise<void>((resolve) => {
        release = resolve
      })
      const previous = this.#tails.get(node) ?? Promise.resolve()
      this.#tails.set(
        node,
        previous.then(() => next),
      )
      await previous
      releases.push(release)
    }
    return () => {
      for (const release of releases) release()
    }
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosSummary> {
  const o = { ...DEFAULTS, ...options }
  const now = () => performance.now()
  const wallOffsetMs = Date.now() - now()
  const say = o.progress ?? (() => {})
  const access: AccessEntry[] = []
  const ledger = new VersionLedger(INGRESS)
  const world = await startWorld({
    onNodeLine: (node, line) => {
      const event = parseNodeLine(line)
      if (event === undefined) return
      if (event.type === 'access') {
        if (node === INGRESS) access.push(event)
      } else ledger.record(node, event)
    },
  })
  try {
    return await runOn(world, o, { now, wallOffsetMs, say, access, ledger })
  } finally {
    await world.close()
  }
}

interface RunState {
  readonly now: () => number
  readonly wallOffsetMs: number
  readonly say: (line: string) => void
  readonly access: AccessEntry[]
  readonly ledger: VersionLedger
}

async function runOn(
  world: ChaosWorld,
  o: ChaosOptions & typeof DEFAULTS,
  state: RunState,
): Promise<ChaosSummary> {
  const { now, say } = state
  const services = [PROBE_SERVICE, STREAM_SERVICE]
  const watch = new ConvergenceWatch(
    () => takeSnapshot(world, INGRESS),
    (s) => judgeConvergence(s, INGRESS, services),
    now,
  )
  const runStart = now()
  const started = await watch.waitConverged(runStart, START_SETTLE_MS)
  if ('timedOut' in started) throw new ChaosSetupError(START_SETTLE_MS, started.why)
  say(
    `mesh settled ${((started.atMs - runStart) / 1000).toFixed(1)} s after its start; seed ${o.seed}; faults for ${o.faultPhaseMs / 1000} s`,
  )
  const meter = startMeter(world, now)
  const loadStart = now()
  const cpuAtStart = process.cpuUsage()
  const load = startLoad({
    probePort: world.ports.listeners.probe,
    streamPort: world.ports.listeners.stream,
    seed: o.seed,
    now,
    probeEveryMs: o.probeEveryMs,
    longFlows: o.longFlows,
    stallMs: FLOW_STALL_MS,
  })
  const timeline = new Timeline()
  const ctx: FaultContext = { world, timeline, watch, now, convergeBoundMs: o.convergeBoundMs }
  const phaseStart = now()
  const faults = await injectAll(ctx, o, phaseStart, say)
  const faultsEnd = now()
  const settled = await watch.waitConverged(faultsEnd, o.convergeBoundMs)
  const final = 'atMs' in settled ? { convergenceMs: settled.atMs - faultsEnd } : { why: settled.why }
  const records = await load.stop()
  await new Promise((resolve) => setTimeout(resolve, LOG_DRAIN_MS))
  const cpu = process.cpuUsage(cpuAtStart)
  const processes = meter.stop()
  return summarize({
    seed: o.seed,
    faultPhaseMs: faultsEnd - phaseStart,
    phaseStartMs: phaseStart,
    faults,
    flows: judgeAll(records, state, timeline, o.settleMs),
    convergeBoundMs: o.convergeBoundMs,
    final,
    versionRegressions: state.ledger.regressions,
    emptyIngressSets: emptySets(state, timeline, o.settleMs, loadStart),
    processes,
    logBudgetBytesPerMinute: o.logBudgetBytesPerMinute,
    harnessCpuSeconds: (cpu.user + cpu.system) / 1e6,
  })
}

/** Empty sets the ingress applied once flows ran (a cold start has nothing to take away). */
function emptySets(state: RunState, timeline: Timeline, settleMs: number, fromMs: number): EmptySet[] {
  const ctx = { timeline, ingress: INGRESS, paths: chaosPaths(), settleMs }
  return state.ledger.emptyIngressSets
    .map((e) => ({ version: e.version, atMs: e.atWallMs - state.wallOffsetMs }))
    .filter((e) => e.atMs >= fromMs)
    .map((e) => judgeEmptySet(e.version, e.atMs, ctx))
}

function judgeAll(
  records: readonly FlowRecord[],
  state: RunState,
  timeline: Timeline,
  settleMs: number,
): JudgedFlow[] {
  const paired = pairAccessLines(records, state.access, state.wallOffsetMs)
  const ctx = { timeline, ingress: INGRESS, paths: chaosPaths(), settleMs }
  return records.map((flow) => ({ flow, verdict: judgeFlow(flow, paired.get(flow), ctx) }))
}

async function injectAll(
  ctx: FaultContext,
  o: ChaosOptions & typeof DEFAULTS,
  phaseStart: number,
  say: (line: string) => void,
): Promise<FaultRecord[]> {
  const records: FaultRecord[] = []
  const report = (r: FaultRecord) => {
    records.push(r)
    const settled =
      r.convergenceMs === undefined
        ? `NOT settled: ${r.problem}`
        : `settled in ${(r.convergenceMs / 1000).toFixed(2)} s`
    say(`[${((r.startMs - phaseStart) / 1000).toFixed(1)} s] ${r.label} on ${r.target}: ${settled}`)
  }
  if (o.sequence !== undefined) {
    for (const plan of o.sequence) {
      report(await runFault(plan, ctx))
      await new Promise((resolve) => setTimeout(resolve, plan.gapMs))
    }
    return records
  }
  const counts = new Map<FaultKind, number>()
  const shared: Lanes = {
    locks: new NodeLocks(),
    counts,
    clock: () => ({
      nowMs: ctx.now(),
      endAtMs: phaseStart + o.faultPhaseMs,
      lastAtMs: phaseStart + o.faultPhaseMs * (1 + MAX_OVERTIME_PHASES),
      atLeast: o.atLeastPerKind ?? 0,
    }),
    report: (r) => {
      counts.set(r.plan.kind, (counts.get(r.plan.kind) ?? 0) + 1)
      report(r)
    },
  }
  await Promise.all(LANE_NAMES.map((lane) => runLane(lane, ctx, o, shared)))
  return records
}

/** With atLeastPerKind, lanes may go on for this many fault phases more, at most. */
const MAX_OVERTIME_PHASES = 2

interface Lanes {
  readonly locks: NodeLocks
  /** Faults carried out so far, by kind, over every lane. */
  readonly counts: ReadonlyMap<FaultKind, number>
  clock(): LaneClock
  report(r: FaultRecord): void
}

async function runLane(lane: LaneName, ctx: FaultContext, o: ChaosOptions, shared: Lanes): Promise<void> {
  const kinds = LANES[lane].kinds.filter((k) => !o.kinds?.length || o.kinds.includes(k))
  for (const plan of laneFaults(lane, o.seed, o.kinds)) {
    const step = laneStep(shared.clock(), shared.counts, kinds, plan.kind)
    if (step === 'stop') return
    if (step === 'skip') continue
    const release = await shared.locks.lock(locksOf(plan))
    try {
      if (laneStep(shared.clock(), shared.counts, kinds, plan.kind) !== 'inject') continue
      shared.report(await runFault(plan, ctx))
    } finally {
      release()
    }
    await new Promise((resolve) => setTimeout(resolve, plan.gapMs))
  }
}

interface Meter {
  /** Peak log rate and CPU per process, over the time the meter ran. */
  stop(): ProcessCost[]
}

/**
 * Samples every process's output bytes (for the log budget) and etcd's CPU every 5 s; nodes and
 * schedulers count their own CPU across restarts.
 */
function startMeter(world: ChaosWorld, now: () => number): Meter {
  const managed = [...world.replicas, ...world.nodes].map(([id, p]) => ({ name: p.spec.name || id, p }))
  const samples = new Map<string, ByteSample[]>(managed.map(({ name }) => [name, []]))
  const etcdTicks = new Map<number, number>()
  const ticksAtStart = new Map(managed.map(({ name, p }) => [name, p.cpuTicks()]))
  const sample = () => {
    for (const { name, p } of managed) samples.get(name)?.push([now(), p.outputBytes])
    for (const m of world.etcd.members) if (m.pid !== undefined) etcdTicks.set(m.pid, readCpuTicks(m.pid))
  }
  sample()
  const etcdAtStart = [...etcdTicks.values()].reduce((a, b) => a + b, 0)
  const timer = setInterval(sample, SAMPLE_EVERY_MS)
  return {
    stop() {
      clearInterval(timer)
      sample()
      const etcdSeconds =
        ([...etcdTicks.values()].reduce((a, b) => a + b, 0) - etcdAtStart) / CLOCK_TICKS_PER_SECOND
      return [
        ...managed.map(({ name, p }) => ({
          name,
          peakLogBytesPerMinute: peakBytesPerMinute(samples.get(name) ?? []),
          cpuSeconds: (p.cpuTicks() - (ticksAtStart.get(name) ?? 0)) / CLOCK_TICKS_PER_SECOND,
        })),
        { name: 'etcd (3 members)', peakLogBytesPerMinute: 0, cpuSeconds: etcdSeconds },
      ]
    },
  }
}
