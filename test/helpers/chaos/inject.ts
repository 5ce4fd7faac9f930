/**
 * Carrying out one planned fault on the running mesh: resolve its target (which replica leads now,
 * which etcd member), break it, keep it broken for the planned time, bring it back, then wait for
 * the mesh to settle. Every break and heal of a node or link on a data path goes on the timeline
 * at the moment it happens, so flows can be judged against it.
 */
import type { EtcdMember } from '../etcd.ts'
import type { ManagedProcess } from '../process.ts'
import type { ConvergenceWatch } from './converge.ts'
import { type FaultPlan, faultLabel, type PauseTarget, restartedNode } from './faults.ts'
import type { Timeline } from './timeline.ts'
import { type ChaosNodeId, linkComponent, nodeComponent, RELAY } from './topology.ts'
import { type ChaosWorld, getJson, REPLICA_IDS } from './world.ts'

export interface FaultRecord {
  readonly plan: FaultPlan
  readonly label: string
  /** What was broken, resolved when the fault started: `s1`, `m2`, `b`, `a>c`… */
  readonly target: string
  readonly startMs: number
  /** When the last broken part was back (restarted and ready, resumed, restored). */
  readonly recoveredMs: number
  /** Recovery to the first poll that found the mesh settled; undefined when it did not within the bound. */
  readonly convergenceMs: number | undefined
  /** Why the mesh was not settled at the bound, or why the fault could not be carried out. */
  readonly problem?: string
}

export interface FaultContext {
  readonly world: ChaosWorld
  readonly timeline: Timeline
  readonly watch: ConvergenceWatch
  readonly now: () => number
  readonly convergeBoundMs: number
}

const FIND_TIMEOUT_MS = 10_000

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `find` until it returns something, for at most 10 s. */
async function within<T>(find: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + FIND_TIMEOUT_MS
  for (;;) {
    const found = await find()
    if (found !== undefined || Date.now() > deadline) return found
    await sleep(100)
  }
}

async function leadingReplica(world: ChaosWorld): Promise<string | undefined> {
  for (const [id, p] of world.replicas) {
    if (p.state !== 'running') continue
    const status = await getJson<{ leader: boolean }>(`${world.schedulerApi(id)}/status`)
    if (status?.leader) return id
  }
  return undefined
}

async function etcdRole(world: ChaosWorld, leader: boolean): Promise<EtcdMember | undefined> {
  const current = await world.etcd.leader()
  if (current === undefined) return undefined
  return leader ? current : world.etcd.members.find((m) => m !== current && m.running && !m.paused)
}

/** Something the fault breaks and brings back. */
interface Breakable {
  readonly name: string
  /** Data-path components that are down while it is broken. */
  readonly components: readonly string[]
  break(): Promise<void> | void
  heal(): Promise<void> | void
}

function killable(name: string, p: ManagedProcess, components: readonly string[] = []): Breakable {
  return { name, components, break: () => p.kill(), heal: () => p.start() }
}

function pausable(
  name: string,
  p: { pause(): void; resume(): void },
  components: readonly string[] = [],
): Breakable {
  return { name, components, break: () => p.pause(), heal: () => p.resume() }
}

function nodeProcess(world: ChaosWorld, id: string): ManagedProcess {
  return world.nodes.get(id as ChaosNodeId) as ManagedProcess
}

async function resolveReplica(world: ChaosWorld, leader: boolean): Promise<string | undefined> {
  const leading = await within(() => leadingReplica(world))
  if (leading === undefined) return undefined
  return leader ? leading : REPLICA_IDS.find((id) => id !== leading)
}

async function pauseTarget(
  ctx: FaultContext,
  plan: FaultPlan,
  role: PauseTarget,
): Promise<Breakable | undefined> {
  const { world } = ctx
  switch (role) {
    case 'relay':
      return pausable(RELAY, nodeProcess(world, RELAY), [nodeComponent(RELAY)])
    case 'egress':
      return pausable(plan.egress, nodeProcess(world, plan.egress), [nodeComponent(plan.egress)])
    case 'scheduler_leader':
    case 'scheduler_follower': {
      const id = await resolveReplica(world, role === 'scheduler_leader')
      return id === undefined ? undefined : pausable(id, world.replicas.get(id) as ManagedProcess)
    }
    case 'etcd_leader':
    case 'etcd_member': {
      const member = await within(() => etcdRole(world, role === 'etcd_leader'))
      return member === undefined ? undefined : pausable(member.name, member)
    }
  }
}

/**
 * The parts a fault breaks at once, in groups that come back one after the other (a restart brings
 * the scheduler back before its nodes, or after them, `staggerMs` apart).
 */
async function targetsOf(ctx: FaultContext, plan: FaultPlan): Promise<Breakable[][] | undefined> {
  const { world } = ctx
  switch (plan.kind) {
    case 'scheduler_leader_kill':
    case 'scheduler_follower_kill': {
      const id = await resolveReplica(world, plan.kind === 'scheduler_leader_kill')
      return id === undefined ? undefined : [[killable(id, world.replicas.get(id) as ManagedProcess)]]
    }
    case 'etcd_member_kill':
    case 'etcd_leader_kill': {
      const member = await within(() => etcdRole(world, plan.kind === 'etcd_leader_kill'))
      return member === undefined
        ? undefined
        : [[{ name: member.name, components: [], break: () => member.kill(), heal: () => member.start() }]]
    }
    case 'relay_kill':
      return [[killable(RELAY, nodeProcess(world, RELAY), [nodeComponent(RELAY)])]]
    case 'egress_kill':
      return [[killable(plan.egress, nodeProcess(world, plan.egress), [nodeComponent(plan.egress)])]]
    case 'pause': {
      const target = await pauseTarget(ctx, plan, plan.pause ?? 'relay')
      return target === undefined ? undefined : [[target]]
    }
    case 'link_blackhole':
    case 'link_loss':
      return [[linkFault(ctx, plan)]]
    case 'scheduler_restart': {
      const schedulers = REPLICA_IDS.map((id) => killable(id, world.replicas.get(id) as ManagedProcess))
      const id = restartedNode(plan)
      const node = [killable(id, nodeProcess(world, id), [nodeComponent(id)])]
      return plan.order === 'nodes_first' ? [node, schedulers] : [schedulers, node]
    }
  }
}

function linkFault(ctx: FaultContext, plan: FaultPlan): Breakable {
  const name = plan.link as string
  const link = ctx.world.links.get(name)
  if (link === undefined) throw new RangeError(`no link ${name} in the chaos mesh`)
  const [from, to] = name.split('>') as [string, string]
  if (plan.kind === 'link_loss') {
    return {
      name,
      components: [],
      break: () => link.set({ lossRatio: plan.lossRatio ?? 0 }),
      heal: () => link.set({ lossRatio: 0 }),
    }
  }
  // Cut as TCP sees a dead link: bytes wait and come through after it; blackhole() would leave holes.
  return {
    name,
    components: [linkComponent(from, to)],
    break: () => link.partition(),
    heal: () => link.restore(),
  }
}

/** A part that fails to come back is tried again this often, then the fault gives up on it. */
const HEAL_ATTEMPTS = 3
const HEAL_RETRY_MS = 500

/** Brings a part back; a failed attempt is a finding (noted), and the part is tried again. */
async function healWithRetry(p: Breakable, notes: string[]): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await p.heal()
      return
    } catch (err) {
      notes.push(`${p.name} did not come back (attempt ${attempt}): ${(err as Error).message}`)
      if (attempt === HEAL_ATTEMPTS) throw err
      await sleep(HEAL_RETRY_MS)
    }
  }
}

/** Runs the fault to the end and waits (bounded) for the mesh to settle; never rejects. */
export async function runFault(plan: FaultPlan, ctx: FaultContext): Promise<FaultRecord> {
  const label = faultLabel(plan)
  const startMs = ctx.now()
  const groups = await targetsOf(ctx, plan)
  if (groups === undefined) {
    const problem = 'no target: no leader found within 10 s'
    return { plan, label, target: '?', startMs, recoveredMs: startMs, convergenceMs: undefined, problem }
  }
  const target = groups
    .flat()
    .map((p) => p.name)
    .join('+')
  const notes: string[] = []
  const base = { plan, label, target, startMs }
  try {
    await breakAndHeal(ctx, plan, groups, notes)
  } catch {
    return { ...base, recoveredMs: ctx.now(), convergenceMs: undefined, problem: notes.join('; ') }
  }
  const recoveredMs = ctx.now()
  const settled = await ctx.watch.waitConverged(recoveredMs, ctx.convergeBoundMs)
  if ('timedOut' in settled) notes.push(`not settled: ${settled.why}`)
  return {
    ...base,
    recoveredMs,
    convergenceMs: 'atMs' in settled ? settled.atMs - recoveredMs : undefined,
    ...(notes.length > 0 && { problem: notes.join('; ') }),
  }
}

async function breakAndHeal(
  ctx: FaultContext,
  plan: FaultPlan,
  groups: readonly Breakable[][],
  notes: string[],
): Promise<void> {
  const label = faultLabel(plan)
  const heals = new Map<Breakable, ((atMs: number) => void)[]>()
  await Promise.all(
    groups.flat().map(async (p) => {
      heals.set(
        p,
        p.components.map((c) => ctx.timeline.breakAt(c, ctx.now(), label)),
      )
      await p.break()
    }),
  )
  await sleep(plan.holdMs)
  for (const [i, group] of groups.entries()) {
    if (i > 0) await sleep(plan.staggerMs)
    await Promise.all(
      group.map(async (p) => {
        await healWithRetry(p, notes)
        for (const heal of heals.get(p) ?? []) heal(ctx.now())
      }),
    )
  }
}
