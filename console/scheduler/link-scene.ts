/**
 * The links of the topology as the link layer draws them: which lines there are (both directions
 * as one in a big mesh), where each lies, which one a click lands on, and how they batch into a
 * few strokes. Pure: unit-tested without a browser.
 */
import {
  DOWN_COLOR,
  edgeId,
  type LinkLook,
  LOSSY_COLOR,
  linkLook,
  mergeDirections,
  type Point,
  pairId,
  RTT_BANDS,
  type TopologyLink,
} from './model.ts'

/** Past this many links both directions of a link are drawn as one line, without arrows. */
export const MERGE_ABOVE = 1200

/** How far a directed link is drawn to the right of the straight line, so that a→b and b→a both show. */
export const DIRECTED_OFFSET = 6

/** Where a line ends short of a node's centre: the node's radius, so arrowheads touch its rim. */
export const NODE_RADIUS = 13

/** Line widths in a few steps: links that look alike are stroked together, and a few steps read as well as many. */
export const WIDTH_STEPS: readonly number[] = [1, 2, 3.5, 5, 7]

export function widthStep(width: number): number {
  return WIDTH_STEPS.find((w) => width <= w) ?? (WIDTH_STEPS[WIDTH_STEPS.length - 1] as number)
}

export interface SceneLink {
  /** edgeId(from, to) for a directed line, pairId for a line standing for both directions. */
  readonly id: string
  readonly from: string
  readonly to: string
  readonly up: boolean
  readonly directed: boolean
  readonly look: LinkLook
}

export interface Segment {
  readonly x1: number
  readonly y1: number
  readonly x2: number
  readonly y2: number
}

/** Whether a mesh with this many (directed) links draws both directions of each as one line. */
export function mergesDirections(linkCount: number): boolean {
  return linkCount > MERGE_ABOVE
}

/** The lines to draw: those between nodes that are drawn, merged by pair in a big mesh. */
export function sceneLinks(links: readonly TopologyLink[], nodeIds: ReadonlySet<string>): SceneLink[] {
  const directed = !mergesDirections(links.length)
  const drawn = directed ? links.map((l) => ({ ...l, id: edgeId(l.from, l.to) })) : mergeDirections(links)
  const out: SceneLink[] = []
  for (const l of drawn) {
    if (!nodeIds.has(l.from) || !nodeIds.has(l.to)) continue
    const look = linkLook(l)
    out.push({
      id: l.id,
      from: l.from,
      to: l.to,
      up: l.up,
      directed,
      look: { ...look, width: widthStep(look.width) },
    })
  }
  return out
}

/**
 * The line of a link: centre to centre when it stands for both directions; for one direction,
 * moved to the right of its way and stopped at the target's rim, where its arrowhead goes.
 */
export function segmentOf(link: SceneLink, positions: ReadonlyMap<string, Point>): Segment | undefined {
  const a = positions.get(link.from)
  const b = positions.get(link.to)
  if (a === undefined || b === undefined) return undefined
  if (!link.directed) return { x1: a.x, y1: a.y, x2: b.x, y2: b.y }
  const length = Math.hypot(b.x - a.x, b.y - a.y)
  if (length <= NODE_RADIUS) return { x1: a.x, y1: a.y, x2: b.x, y2: b.y }
  const ux = (b.x - a.x) / length
  const uy = (b.y - a.y) / length
  // The right of the way in screen coordinates (y grows downwards).
  const ox = -uy * DIRECTED_OFFSET
  const oy = ux * DIRECTED_OFFSET
  return {
    x1: a.x + ox,
    y1: a.y + oy,
    x2: b.x - ux * NODE_RADIUS + ox,
    y2: b.y - uy * NODE_RADIUS + oy,
  }
}

function distanceToSegment(p: Point, s: Segment): number {
  const dx = s.x2 - s.x1
  const dy = s.y2 - s.y1
  const squared = dx * dx + dy * dy
  const t = squared === 0 ? 0 : Math.max(0, Math.min(1, ((p.x - s.x1) * dx + (p.y - s.y1) * dy) / squared))
  return Math.hypot(p.x - (s.x1 + t * dx), p.y - (s.y1 + t * dy))
}

/** The link whose line passes nearest `point`, if one passes within `tolerance` of it (plus half its width). */
export function linkAt(
  links: readonly SceneLink[],
  positions: ReadonlyMap<string, Point>,
  point: Point,
  tolerance: number,
): SceneLink | undefined {
  let best: SceneLink | undefined
  let bestDistance = Number.POSITIVE_INFINITY
  for (const link of links) {
    const segment = segmentOf(link, positions)
    if (segment === undefined) continue
    const distance = distanceToSegment(point, segment) - link.look.width / 2
    if (distance <= tolerance && distance < bestDistance) {
      best = link
      bestDistance = distance
    }
  }
  return best
}

export interface StrokeBatch {
  readonly color: string
  readonly width: number
  readonly style: LinkLook['style']
  readonly links: readonly SceneLink[]
}

/** Colours from the least to the most alarming: the more alarming a link, the later it is drawn, on top. */
const SEVERITY: readonly string[] = [DOWN_COLOR, ...RTT_BANDS.map((b) => b.color), LOSSY_COLOR]

function severity(look: LinkLook): number {
  return SEVERITY.indexOf(look.color)
}

/**
 * Links that look alike, as one batch each: a canvas strokes a batch as one path, so thousands of
 * links cost a few dozen strokes. Batches come in drawing order: down links first, then by RTT
 * band, losing links last, so that a degraded link is never hidden under a good one.
 */
export function strokeBatches(links: readonly SceneLink[]): StrokeBatch[] {
  const batches = new Map<string, StrokeBatch & { links: SceneLink[] }>()
  for (const link of links) {
    const { color, width, style } = link.look
    const key = `${color}|${width}|${style}`
    const batch = batches.get(key)
    if (batch === undefined) batches.set(key, { color, width, style, links: [link] })
    else batch.links.push(link)
  }
  return [...batches.values()].sort(
    (a, b) => severity(a) - severity(b) || a.width - b.width || a.style.localeCompare(b.style),
  )
}

/** The id of the line drawn for the directed link from → to: its own, or its pair's in a merged (big) mesh. */
export function drawnLinkId(merged: boolean, from: string, to: string): string {
  return merged ? pairId(from, to) : edgeId(from, to)
}
