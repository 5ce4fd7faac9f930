/**
 * What a chaos run breaks, and in which order: each lane of faults draws its own sequence from the
 * seed, so `--seed N` replays the same faults with the same targets and durations (when each one
 * lands against the others depends on how fast processes start). Lanes break different parts of
 * the system and run side by side; within a lane every kind comes up once per round, in a random
 * order, so kinds are injected equally often.
 */
import { SeededRandom } from './random.ts'
import { CHAOS_LINKS, EGRESSES, linkName, RELAY } from './topology.ts'

export const FAULT_KINDS = [
  'scheduler_leader_kill',
  'scheduler_follower_kill',
  'scheduler_restart',
  'etcd_member_kill',
  'etcd_leader_kill',
  'relay_kill',
  'egress_kill',
  'pause',
  'link_blackhole',
  'link_loss',
] as const

export type FaultKind = (typeof FAULT_KINDS)[number]

/** What a pause stops: the role is resolved to a process when the fault starts. */
export const PAUSE_TARGETS = [
  'scheduler_leader',
  'scheduler_follower',
  'etcd_leader',
  'etcd_member',
  'relay',
  'egress',
] as const

export type PauseTarget = (typeof PAUSE_TARGETS)[number]

export type LaneName = 'control' | 'store' | 'nodes' | 'links'

/** Kinds (and pause targets) by lane: the parts one lane breaks never overlap another lane's. */
export const LANES: Readonly<
  Record<LaneName, { kinds: readonly FaultKind[]; pauses: readonly PauseTarget[] }>
> = {
  control: {
    kinds: ['scheduler_leader_kill', 'scheduler_follower_kill', 'scheduler_restart', 'pause'],
    pauses: ['scheduler_leader', 'scheduler_follower'],
  },
  store: { kinds: ['etcd_member_kill', 'etcd_leader_kill', 'pause'], pauses: ['etcd_leader', 'etcd_member'] },
  nodes: { kinds: ['relay_kill', 'egress_kill', 'pause'], pauses: ['relay', 'egress'] },
  links: { kinds: ['link_blackhole', 'link_loss'], pauses: [] },
}

export const LANE_NAMES = Object.keys(LANES) as LaneName[]

/**
 * scheduler_restart: both replicas and a node (the relay or an egress) are killed; then either the
 * scheduler comes back first and the node after it, or the node first (from its cached set) and
 * the scheduler after it. The other nodes stay up and reconnect in their own time.
 */
export type RestartOrder = 'scheduler_first' | 'nodes_first'

export interface FaultPlan {
  readonly lane: LaneName
  /** Position in its lane, from 0. */
  readonly index: number
  readonly kind: FaultKind
  /** How long the part stays broken (killed, paused, cut, lossy) before it is brought back. */
  readonly holdMs: number
  /** egress_kill, pause of an egress, a restart's node when it is an egress: which egress. */
  readonly egress: string
  /** pause: which role. */
  readonly pause?: PauseTarget
  /** link faults: `from>to`. */
  readonly link?: string
  /** link_loss: the share of chunks lost. */
  readonly lossRatio?: number
  /** scheduler_restart: what comes back first, and how long before the rest. */
  readonly order?: RestartOrder
  /** scheduler_restart: the node restarted with the scheduler, the relay or `egress`. */
  readonly restarts?: 'relay' | 'egress'
  readonly staggerMs: number
  /** Quiet time after the fault settled, before the lane's next one. */
  readonly gapMs: number
}

const RESTART_ORDERS: readonly RestartOrder[] = ['scheduler_first', 'nodes_first']

/** How long each kind keeps its part broken, in ms. */
const HOLD_MS: Readonly<Record<FaultKind, readonly [number, number]>> = {
  scheduler_leader_kill: [50, 500],
  scheduler_follower_kill: [50, 500],
  scheduler_restart: [100, 600],
  etcd_member_kill: [50, 500],
  etcd_leader_kill: [50, 500],
  relay_kill: [50, 500],
  egress_kill: [50, 500],
  /** Up to past the 2 s election TTL: a leader paused that long must find it no longer leads. */
  pause: [300, 2500],
  link_blackhole: [300, 2500],
  link_loss: [1000, 3000],
}

/**
 * Pauses come up in one round in three: three lanes pause something, and a pause takes longer than
 * a kill, so this keeps their count near the other kinds'.
 */
export const PAUSE_EVERY_ROUNDS = 3

/**
 * An endless, seeded sequence of a lane's faults, restricted to `kinds` (all when empty). Returns
 * nothing for a lane left with no kind.
 */
export function* laneFaults(
  lane: LaneName,
  seed: number,
  kinds: readonly FaultKind[] = [],
): Generator<FaultPlan> {
  const spec = LANES[lane]
  const own = spec.kinds.filter((k) => kinds.length === 0 || kinds.includes(k))
  if (own.length === 0) return
  const onlyPauses = own.every((k) => k === 'pause')
  const random = new SeededRandom(seed).fork(LANE_NAMES.indexOf(lane))
  for (let index = 0, round = 0; ; round++) {
    const pauses = onlyPauses || round % PAUSE_EVERY_ROUNDS === 0
    for (const kind of random.shuffle(own.filter((k) => pauses || k !== 'pause'))) {
      yield planFault(lane, index++, kind, random)
    }
  }
}

function planFault(lane: LaneName, index: number, kind: FaultKind, random: SeededRandom): FaultPlan {
  const [low, high] = HOLD_MS[kind]
  const link = random.pick(CHAOS_LINKS)
  return {
    lane,
    index,
    kind,
    holdMs: random.int(low, high),
    egress: random.pick(EGRESSES),
    ...(kind === 'pause' && { pause: random.pick(LANES[lane].pauses) }),
    ...((kind === 'link_blackhole' || kind === 'link_loss') && { link: linkName(link.from, link.to) }),
    ...(kind === 'link_loss' && { lossRatio: random.int(5, 30) / 100 }),
    ...(kind === 'scheduler_restart' && {
      order: random.pick(RESTART_ORDERS),
      restarts: random.pick(['relay', 'egress'] as const),
    }),
    staggerMs: random.int(100, 600),
    gapMs: random.int(50, 300),
  }
}

/** A short label for tables and logs: `pause(relay)`, `link_blackhole(a>b)`, `egress_kill(c)`. */
export function faultLabel(plan: FaultPlan): string {
  if (plan.pause !== undefined)
    return `${plan.kind}(${plan.pause === 'egress' ? `egress ${plan.egress}` : plan.pause})`
  if (plan.link !== undefined)
    return `${plan.kind}(${plan.link}${plan.lossRatio ? ` ${Math.round(plan.lossRatio * 100)}%` : ''})`
  if (plan.order !== undefined) return `${plan.kind}(${plan.order}, ${restartedNode(plan)})`
  if (plan.kind === 'egress_kill') return `${plan.kind}(${plan.egress})`
  return plan.kind
}

/** The lane a kind belongs to (pause: the lane of its target). */
export function laneOf(kind: FaultKind, pause?: PauseTarget): LaneName {
  const lanes = LANE_NAMES.filter((lane) => LANES[lane].kinds.includes(kind))
  if (pause === undefined) return lanes[0] as LaneName
  return lanes.find((lane) => LANES[lane].pauses.includes(pause)) ?? (lanes[0] as LaneName)
}

/** Exactly these faults, in this order (a short run's fixed list), with the seed's durations and targets. */
export function sequenceFaults(
  kinds: readonly (FaultKind | { pause: PauseTarget })[],
  seed: number,
): FaultPlan[] {
  const random = new SeededRandom(seed).fork(LANE_NAMES.length)
  return kinds.map((k, index) => {
    const kind: FaultKind = typeof k === 'string' ? k : 'pause'
    const pause = typeof k === 'string' ? undefined : k.pause
    const plan = planFault(laneOf(kind, pause), index, kind, random)
    return pause === undefined ? plan : { ...plan, pause }
  })
}

/** The node a scheduler_restart kills with the scheduler. */
export function restartedNode(plan: FaultPlan): string {
  return plan.restarts === 'egress' ? plan.egress : RELAY
}

/**
 * What a fault holds while it runs, so that faults of two lanes never stop the same node, nor both
 * egresses: `relay` or `egresses` (one egress down at a time keeps a path to the backend).
 */
export function locksOf(plan: FaultPlan): string[] {
  const role = (node: string) => (node === RELAY ? 'relay' : 'egresses')
  switch (plan.kind) {
    case 'relay_kill':
      return ['relay']
    case 'egress_kill':
      return ['egresses']
    case 'scheduler_restart':
      return [role(restartedNode(plan))]
    case 'pause':
      return plan.pause === 'relay' ? ['relay'] : plan.pause === 'egress' ? ['egresses'] : []
    default:
      return []
  }
}

export interface LaneClock {
  readonly nowMs: number
  /** The end of the fault phase asked for. */
  readonly endAtMs: number
  /** Past the end, lanes go on only for kinds short of `atLeast`, and never past this. */
  readonly lastAtMs: number
  /** Faults wanted of every kind (0: none; the phase ends on time). */
  readonly atLeast: number
}

/**
 * Whether a lane injects its next planned fault, skips it, or stops. Within the fault phase it
 * injects everything; after it, only kinds that have fewer than `atLeast` faults so far, until
 * every kind of the lane has its count or the last moment has come.
 */
export function laneStep(
  clock: LaneClock,
  counts: ReadonlyMap<FaultKind, number>,
  laneKinds: readonly FaultKind[],
  kind: FaultKind,
): 'inject' | 'skip' | 'stop' {
  if (clock.nowMs < clock.endAtMs) return 'inject'
  const short = (k: FaultKind) => (counts.get(k) ?? 0) < clock.atLeast
  if (clock.nowMs >= clock.lastAtMs || !laneKinds.some(short)) return 'stop'
  return short(kind) ? 'inject' : 'skip'
}
