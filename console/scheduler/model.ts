/**
 * What the scheduler console draws, computed from the API's JSON: where each node sits (grouped
 * by region), how each link looks (colour by RTT and loss, width by capacity), which links a path
 * takes, and the sentences that say what routing buys. Pure: unit-tested without a browser.
 */

export interface TopologyNode {
  readonly id: string
  readonly region: string
  readonly connected: boolean
  readonly synced: boolean | null
  readonly draining: boolean
  readonly adminUrl: string | null
  readonly replica: string | null
  readonly activeFlows: number | null
  readonly lastNack: { readonly version: string; readonly error: string; readonly at: string | null } | null
}

export interface TopologyLink {
  readonly from: string
  readonly to: string
  readonly up: boolean
  readonly stale: boolean
  readonly rttMs: number
  readonly jitterMs: number
  readonly loss: number
  readonly throughputBps: number
  readonly activeFlows: number
}

export interface Topology {
  readonly nodes: readonly TopologyNode[]
  readonly links: readonly TopologyLink[]
}

export interface PathFigures {
  readonly nodes: readonly string[]
  readonly cost: number
  readonly rttMs: number
  readonly loss: number
  readonly bottleneckBps: number
  readonly costPerGb: number
}

export type Verdict = 'worse' | 'below_threshold' | 'damped' | 'dwell' | 'next'

export interface WhyView {
  readonly key: string
  readonly service: string
  readonly ingress: { readonly node: string; readonly listener?: string; readonly port?: number }
  readonly objective: 'latency' | 'throughput' | 'cost'
  readonly chosen: PathFigures | null
  readonly since: string | null
  readonly alternatives: readonly (PathFigures & {
    readonly verdict: Verdict
    readonly gain: { readonly absolute: number; readonly relative: number }
  })[]
  readonly margins: {
    readonly relative: number
    readonly absolute: number
    readonly unit: string
    readonly minDwellMs: number
    readonly dwellLeftMs: number
    readonly flapWindowMs: number
  }
  readonly recentlyLeft: readonly (readonly string[])[]
  readonly lastSwitch: {
    readonly at: string
    readonly from: readonly string[] | null
    readonly to: readonly string[] | null
    readonly reason: string
  } | null
  readonly direct: PathFigures | null
  readonly yardstick: {
    readonly figure: 'rttMs' | 'bottleneckBps' | 'costPerGb'
    readonly unit: string
    readonly chosen: number | null
    readonly direct: number | null
  }
}

export interface TimelineEvent {
  readonly id: number
  readonly at: string
  readonly kind: string
  readonly message: string
  readonly nodes?: readonly string[]
  readonly service?: string
  readonly link?: { readonly from: string; readonly to: string }
}

export interface Point {
  readonly x: number
  readonly y: number
}

/** Room one node takes in its region's spiral, in layout units. */
const NODE_SPACING = 70
const GOLDEN_ANGLE = Math.PI * (3 - Math.sqrt(5))

function regionRadius(count: number): number {
  return NODE_SPACING * (0.6 + Math.sqrt(count) * 0.62)
}

/**
 * Nodes grouped by region: each region a sunflower spiral (even spacing at any count), the regions
 * side by side on a circle big enough that none overlaps. Deterministic and linear in the number
 * of nodes: 500 nodes are placed in well under a millisecond, and a node keeps its place while
 * the mesh keeps its members.
 */
export function regionLayout(nodes: readonly Pick<TopologyNode, 'id' | 'region'>[]): Map<string, Point> {
  return layoutOf(nodes).nodes
}

export interface RegionArea extends Point {
  /** The radius of the region's circle: every node of the region lies within it. */
  readonly r: number
}

/** Where each region's circle lies in regionLayout: drawn behind its nodes, far cheaper than compound nodes. */
export function regionAreas(nodes: readonly Pick<TopologyNode, 'id' | 'region'>[]): Map<string, RegionArea> {
  return layoutOf(nodes).regions
}

/** How far a region's circle reaches past its outermost node. */
export const REGION_MARGIN = 20

/** A region's name grows with its circle, so that it stays readable when the mesh is seen whole. */
export function regionFontSize(area: RegionArea): number {
  return Math.max(13, Math.round(area.r / 8))
}

/** The zoom and pan that show every node with its label, and every region's circle with its name. */
export function viewportFor(
  positions: ReadonlyMap<string, Point>,
  regions: ReadonlyMap<string, RegionArea>,
  width: number,
  height: number,
): { zoom: number; pan: Point } {
  const nodeRoom = 45
  let x0 = Number.POSITIVE_INFINITY
  let y0 = Number.POSITIVE_INFINITY
  let x1 = Number.NEGATIVE_INFINITY
  let y1 = Number.NEGATIVE_INFINITY
  const cover = (xa: number, ya: number, xb: number, yb: number) => {
    x0 = Math.min(x0, xa)
    y0 = Math.min(y0, ya)
    x1 = Math.max(x1, xb)
    y1 = Math.max(y1, yb)
  }
  for (const p of positions.values()) cover(p.x - nodeRoom, p.y - nodeRoom, p.x + nodeRoom, p.y + nodeRoom)
  for (const a of regions.values()) {
    const r = a.r + REGION_MARGIN
    cover(a.x - r, a.y - r - regionFontSize(a) - 8, a.x + r, a.y + r)
  }
  if (x0 > x1) return { zoom: 1, pan: { x: width / 2, y: height / 2 } }
  const zoom = Math.min(2, Math.max(0.05, Math.min(width / (x1 - x0), height / (y1 - y0))))
  return { zoom, pan: { x: width / 2 - zoom * ((x0 + x1) / 2), y: height / 2 - zoom * ((y0 + y1) / 2) } }
}

function layoutOf(nodes: readonly Pick<TopologyNode, 'id' | 'region'>[]): {
  nodes: Map<string, Point>
  regions: Map<string, RegionArea>
} {
  const byRegion = new Map<string, string[]>()
  for (const n of nodes) {
    const list = byRegion.get(n.region) ?? []
    list.push(n.id)
    byRegion.set(n.region, list)
  }
  const regions = [...byRegion.keys()].sort()
  const radii = regions.map((r) => regionRadius((byRegion.get(r) ?? []).length))
  const gap = NODE_SPACING
  const circumference = radii.reduce((sum, r) => sum + 2 * r + gap, 0)
  const ring = regions.length <= 1 ? 0 : Math.max(circumference / (2 * Math.PI), (radii[0] ?? 0) + gap)
  const out = new Map<string, Point>()
  const areas = new Map<string, RegionArea>()
  let angle = -Math.PI / 2
  regions.forEach((region, i) => {
    const r = radii[i] ?? 0
    const span = ((2 * r + gap) / circumference) * 2 * Math.PI
    const centre = regions.length <= 1 ? 0 : angle + span / 2
    const cx = ring * Math.cos(centre)
    const cy = ring * Math.sin(centre)
    angle += span
    areas.set(region, { x: Math.round(cx), y: Math.round(cy), r: Math.round(r) })
    const ids = [...(byRegion.get(region) ?? [])].sort()
    ids.forEach((id, k) => {
      const rr = ids.length === 1 ? 0 : NODE_SPACING * 0.62 * Math.sqrt(k + 0.5)
      out.set(id, {
        x: Math.round(cx + rr * Math.cos(k * GOLDEN_ANGLE)),
        y: Math.round(cy + rr * Math.sin(k * GOLDEN_ANGLE)),
      })
    })
  })
  return { nodes: out, regions: areas }
}

/** RTT bands for link colours; the legend shows them. */
export const RTT_BANDS: readonly {
  readonly upToMs: number
  readonly color: string
  readonly label: string
}[] = [
  { upToMs: 20, color: '#2f855a', label: '< 20 ms' },
  { upToMs: 60, color: '#b7791f', label: '20–60 ms' },
  { upToMs: 150, color: '#dd6b20', label: '60–150 ms' },
  { upToMs: Number.POSITIVE_INFINITY, color: '#9b2c2c', label: '≥ 150 ms' },
]
export const LOSSY_COLOR = '#e53e3e'
export const DOWN_COLOR = '#a0aec0'
/** Loss at which a link is drawn as losing packets, whatever its RTT. */
export const LOSSY_AT = 0.02

export type LinkLook = {
  readonly color: string
  readonly width: number
  readonly style: 'solid' | 'dashed' | 'dotted'
}

export function linkLook(
  link: Pick<TopologyLink, 'up' | 'stale' | 'rttMs' | 'loss' | 'throughputBps'>,
): LinkLook {
  const width = linkWidth(link.throughputBps)
  if (!link.up) return { color: DOWN_COLOR, width: 1, style: link.stale ? 'dotted' : 'dashed' }
  if (link.loss >= LOSSY_AT) return { color: LOSSY_COLOR, width, style: 'solid' }
  const band = RTT_BANDS.find((b) => link.rttMs < b.upToMs) ?? RTT_BANDS[RTT_BANDS.length - 1]
  return { color: band?.color ?? DOWN_COLOR, width, style: 'solid' }
}

/** 1.5 px for unknown capacity; then 1 px per tenfold from 1 Mbit/s, up to 7. */
export function linkWidth(throughputBps: number): number {
  if (!(throughputBps > 0)) return 1.5
  const mbit = (throughputBps * 8) / 1e6
  return Math.max(1.5, Math.min(7, 1.5 + Math.log10(Math.max(1, mbit))))
}

export function edgeId(from: string, to: string): string {
  return `${from}>${to}`
}

/** The edges a path walks, in order. */
export function pathEdges(nodes: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 1; i < nodes.length; i++) out.push(edgeId(nodes[i - 1] as string, nodes[i] as string))
  return out
}

export function pathText(nodes: readonly string[] | null | undefined): string {
  return nodes && nodes.length > 0 ? nodes.join(' → ') : 'no path'
}

export type NodeLook = 'up' | 'draining' | 'stale' | 'nack' | 'down'

/** How a node is drawn: disconnected first, then draining, a refused set, not yet in sync. */
export function nodeLook(n: Pick<TopologyNode, 'connected' | 'draining' | 'synced' | 'lastNack'>): NodeLook {
  if (!n.connected) return 'down'
  if (n.draining) return 'draining'
  if (n.synced === false && n.lastNack !== null) return 'nack'
  if (n.synced === false) return 'stale'
  return 'up'
}

function figure(value: number, unit: string): string {
  if (unit === 'ms') return `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ms`
  if (unit === 'B/s') return value > 0 ? `${((value * 8) / 1e6).toFixed(1)} Mbit/s` : 'unknown'
  return `${value.toFixed(3)} per GB`
}

/**
 * The sentence of what routing buys: "direct a → c would be 80 ms; the mesh gives 20 ms (60 ms,
 * 75 % better)". Throughput is better when higher, the others when lower.
 */
export function gainSentence(why: Pick<WhyView, 'yardstick' | 'direct' | 'chosen' | 'objective'>): string {
  const { chosen, direct, unit } = why.yardstick
  if (chosen === null) return 'no path: nothing to compare'
  const route = why.direct ? pathText(why.direct.nodes) : 'the direct link'
  if (direct === null) return `no direct link works; the mesh gives ${figure(chosen, unit)}`
  const better = why.objective === 'throughput' ? chosen - direct : direct - chosen
  const base = direct === 0 ? 0 : Math.abs(better / direct)
  const head = `direct ${route} would be ${figure(direct, unit)}; the mesh gives ${figure(chosen, unit)}`
  if (Math.abs(better) < 1e-9) return `${head} (the direct link is the best path)`
  const amount = figure(Math.abs(better), unit)
  return `${head} (${amount}, ${(base * 100).toFixed(0)}% ${better > 0 ? 'better' : 'worse'})`
}

export const VERDICT_TEXT: Readonly<Record<Verdict, string>> = {
  worse: 'not better',
  below_threshold: 'better, but by less than the margins',
  damped: 'left recently: needs twice the margins',
  dwell: 'wins once the current path has been kept long enough',
  next: 'wins at the next recompute',
}

export const SWITCH_TEXT: Readonly<Record<string, string>> = {
  first: 'first path',
  current_gone: 'the path in use stopped working',
  improved: 'a better path passed the margins',
  no_path: 'no path reaches an egress',
}

/** Timeline filters as the page groups kinds. */
export const EVENT_GROUPS: Readonly<Record<string, readonly string[]>> = {
  nodes: ['node_connected', 'node_disconnected'],
  paths: ['path_switch', 'path_lost'],
  links: ['link_down', 'link_up', 'link_lossy', 'link_clean'],
  refusals: ['nack'],
  leader: ['leader'],
  actions: ['probe', 'drain', 'undrain'],
  services: ['service_put', 'service_deleted'],
}

export function groupOf(kind: string): string {
  for (const [group, kinds] of Object.entries(EVENT_GROUPS)) if (kinds.includes(kind)) return group
  return 'other'
}

/** Events of the groups asked for, at or after `sinceMs`, naming every word of `text` (newest first). */
export function selectEvents(
  events: readonly TimelineEvent[],
  groups: ReadonlySet<string>,
  sinceMs: number,
  text: string,
): TimelineEvent[] {
  const words = text
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w !== '')
  return events
    .filter((e) => groups.has(groupOf(e.kind)) && Date.parse(e.at) >= sinceMs)
    .filter((e) => words.every((w) => e.message.toLowerCase().includes(w)))
    .reverse()
}

/** Keeps the newest `max` events, ids unique, in id order: the stream may replay some after a reconnect. */
export function mergeEvents(
  held: readonly TimelineEvent[],
  incoming: readonly TimelineEvent[],
  max: number,
): TimelineEvent[] {
  const last = held.length === 0 ? 0 : (held[held.length - 1] as TimelineEvent).id
  const fresh = incoming.filter((e) => e.id > last)
  const all = fresh.length === 0 ? held : [...held, ...fresh]
  return all.length > max ? all.slice(all.length - max) : [...all]
}

/** The id of the one line drawn for both directions of a link, in a mesh too big to draw each. */
export function pairId(a: string, b: string): string {
  return a < b ? `${a}~${b}` : `${b}~${a}`
}

function badness(l: TopologyLink): number {
  if (!l.up) return Number.POSITIVE_INFINITY
  return l.loss >= LOSSY_AT ? 1e6 + l.loss : l.rttMs
}

/**
 * Both directions of each link as one: the worse direction's state (down, then lossy, then the
 * higher RTT), the larger capacity. Halves what a big mesh costs to draw; a link picked on the
 * graph still shows each direction.
 */
export function mergeDirections(links: readonly TopologyLink[]): (TopologyLink & { readonly id: string })[] {
  const out = new Map<string, TopologyLink & { readonly id: string }>()
  for (const l of links) {
    const id = pairId(l.from, l.to)
    const held = out.get(id)
    if (held === undefined) {
      out.set(id, { ...l, id })
      continue
    }
    const worse = badness(l) > badness(held) ? l : held
    out.set(id, { ...worse, id, throughputBps: Math.max(l.throughputBps, held.throughputBps) })
  }
  return [...out.values()]
}
