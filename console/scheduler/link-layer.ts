/**
 * The canvas under the graph's nodes: the region circles, every link, the selected service's path
 * and the picked link, drawn in the graph's coordinates and moved with its viewport. Links that
 * look alike are stroked together, so a 500-node mesh seen whole (3,000 lines) is drawn and
 * rasterized in 10-20 ms; Cytoscape, which styles, measures and draws each element it holds one
 * by one, spent most of a second on the same lines (see ARCHITECTURE.md). Redraws wait for the
 * next frame, so a burst of changes costs one.
 */
import { type SceneLink, type Segment, segmentOf, strokeBatches } from './link-scene.ts'
import { type Point, REGION_MARGIN, type RegionArea, regionFontSize } from './model.ts'

export interface Viewport {
  readonly zoom: number
  readonly pan: Point
}

export interface LinkScene {
  readonly links: readonly SceneLink[]
  /** Node centres, as the graph has them (a node dragged by hand included). */
  readonly positions: ReadonlyMap<string, Point>
  readonly regions: ReadonlyMap<string, RegionArea>
  /** Ids of the scene links the selected service's path takes. */
  readonly path: ReadonlySet<string>
  readonly picked: string | undefined
}

const PATH_COLOR = '#6b46c1'
const PATH_WIDTH = 6
const LINK_OPACITY = 0.85
const REGION_FILL = 'rgba(237, 242, 247, 0.7)'
const REGION_LINE = '#cbd5e0'
const REGION_TEXT = '#4a5568'
/** Text smaller than this on screen is not drawn: unreadable, and a mesh seen whole has no room for it. */
const MIN_TEXT_PX = 7
const DASHES: Readonly<Record<SceneLink['look']['style'], number[]>> = {
  solid: [],
  dashed: [6, 3],
  dotted: [1, 2],
}

function arrowhead(ctx: CanvasRenderingContext2D, s: Segment, width: number): void {
  const length = Math.hypot(s.x2 - s.x1, s.y2 - s.y1)
  if (length === 0) return
  const ux = (s.x2 - s.x1) / length
  const uy = (s.y2 - s.y1) / length
  const size = 4 + width * 1.5
  ctx.moveTo(s.x2, s.y2)
  ctx.lineTo(s.x2 - ux * size - uy * size * 0.6, s.y2 - uy * size + ux * size * 0.6)
  ctx.lineTo(s.x2 - ux * size + uy * size * 0.6, s.y2 - uy * size - ux * size * 0.6)
  ctx.closePath()
}

/** Lines at most this wide on screen are drawn as hairlines: a quarter pixel thinner reads the same. */
const HAIRLINE_UP_TO_PX = 1.25

/**
 * Strokes lines of one look. Rasterized in software (no GPU), a hairline (a pixel wide or less)
 * takes a fast path; a wider line is an antialiased polygon, and one path holding thousands of
 * them is slow to fill. Measured on a 500-node mesh seen whole (3,000 lines about a pixel wide):
 * one path 110-230 ms, line by line 25-45 ms, as hairlines in one path 5-9 ms.
 */
function strokeSegments(
  ctx: CanvasRenderingContext2D,
  segments: readonly Segment[],
  width: number,
  zoom: number,
) {
  if (width * zoom <= HAIRLINE_UP_TO_PX) {
    ctx.lineWidth = Math.min(width, 0.99 / zoom)
    ctx.beginPath()
    for (const s of segments) {
      ctx.moveTo(s.x1, s.y1)
      ctx.lineTo(s.x2, s.y2)
    }
    ctx.stroke()
    return
  }
  ctx.lineWidth = width
  for (const s of segments) {
    ctx.beginPath()
    ctx.moveTo(s.x1, s.y1)
    ctx.lineTo(s.x2, s.y2)
    ctx.stroke()
  }
}

export class LinkLayer {
  readonly #canvas: HTMLCanvasElement
  readonly #ctx: CanvasRenderingContext2D | null
  #scene: LinkScene = {
    links: [],
    positions: new Map(),
    regions: new Map(),
    path: new Set(),
    picked: undefined,
  }
  #viewport: Viewport = { zoom: 1, pan: { x: 0, y: 0 } }
  #frame: number | undefined

  /** `positions` is read at every draw: the graph's owner moves nodes in it and calls show(). */
  constructor(canvas: HTMLCanvasElement, positions: ReadonlyMap<string, Point>) {
    this.#canvas = canvas
    this.#ctx = canvas.getContext('2d')
    this.#scene = { ...this.#scene, positions }
  }

  get scene(): LinkScene {
    return this.#scene
  }

  show(scene: Partial<LinkScene>): void {
    this.#scene = { ...this.#scene, ...scene }
    this.#schedule()
  }

  view(viewport: Viewport): void {
    this.#viewport = viewport
    this.#schedule()
  }

  resize(width: number, height: number): void {
    if (this.#canvas.width === width && this.#canvas.height === height) return
    this.#canvas.width = width
    this.#canvas.height = height
    this.#schedule()
  }

  destroy(): void {
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame)
    this.#frame = undefined
  }

  #schedule(): void {
    this.#frame ??= requestAnimationFrame(() => {
      this.#frame = undefined
      this.#draw()
    })
  }

  #draw(): void {
    const ctx = this.#ctx
    if (ctx === null) return
    const { zoom, pan } = this.#viewport
    ctx.setTransform(1, 0, 0, 1, 0, 0)
    ctx.clearRect(0, 0, this.#canvas.width, this.#canvas.height)
    ctx.setTransform(zoom, 0, 0, zoom, pan.x, pan.y)
    this.#drawRegions(ctx, zoom)
    this.#drawLinks(ctx, zoom)
    this.#drawPath(ctx)
    this.#drawPicked(ctx)
  }

  #drawRegions(ctx: CanvasRenderingContext2D, zoom: number): void {
    ctx.lineWidth = 1
    ctx.setLineDash([])
    for (const area of this.#scene.regions.values()) {
      ctx.beginPath()
      ctx.arc(area.x, area.y, area.r + REGION_MARGIN, 0, 2 * Math.PI)
      ctx.fillStyle = REGION_FILL
      ctx.fill()
      ctx.strokeStyle = REGION_LINE
      ctx.stroke()
    }
    ctx.fillStyle = REGION_TEXT
    ctx.textAlign = 'center'
    ctx.textBaseline = 'bottom'
    for (const [region, area] of this.#scene.regions) {
      const font = regionFontSize(area)
      if (font * zoom < MIN_TEXT_PX) continue
      ctx.font = `bold ${font}px sans-serif`
      ctx.fillText(region, area.x, area.y - area.r - REGION_MARGIN - 4)
    }
  }

  #drawLinks(ctx: CanvasRenderingContext2D, zoom: number): void {
    const { positions } = this.#scene
    ctx.globalAlpha = LINK_OPACITY
    for (const batch of strokeBatches(this.#scene.links)) {
      ctx.strokeStyle = batch.color
      ctx.fillStyle = batch.color
      ctx.setLineDash(DASHES[batch.style])
      const segments: Segment[] = []
      for (const link of batch.links) {
        const s = segmentOf(link, positions)
        if (s !== undefined) segments.push(s)
      }
      strokeSegments(ctx, segments, batch.width, zoom)
      if (!batch.links[0]?.directed) continue
      ctx.beginPath()
      for (const s of segments) arrowhead(ctx, s, batch.width)
      ctx.fill()
    }
    ctx.globalAlpha = 1
  }

  #drawPath(ctx: CanvasRenderingContext2D): void {
    const { links, positions, path } = this.#scene
    if (path.size === 0) return
    ctx.strokeStyle = PATH_COLOR
    ctx.fillStyle = PATH_COLOR
    ctx.lineWidth = PATH_WIDTH
    ctx.setLineDash([])
    for (const link of links) {
      if (!path.has(link.id)) continue
      const s = segmentOf(link, positions)
      if (s === undefined) continue
      ctx.beginPath()
      ctx.moveTo(s.x1, s.y1)
      ctx.lineTo(s.x2, s.y2)
      ctx.stroke()
      if (!link.directed) continue
      ctx.beginPath()
      arrowhead(ctx, s, PATH_WIDTH / 2)
      ctx.fill()
    }
  }

  #drawPicked(ctx: CanvasRenderingContext2D): void {
    const { links, positions, picked } = this.#scene
    const link = picked === undefined ? undefined : links.find((l) => l.id === picked)
    const s = link && segmentOf(link, positions)
    if (link === undefined || s === undefined) return
    ctx.strokeStyle = 'rgba(0, 0, 0, 0.2)'
    ctx.lineWidth = link.look.width + 10
    ctx.lineCap = 'round'
    ctx.setLineDash([])
    ctx.beginPath()
    ctx.moveTo(s.x1, s.y1)
    ctx.lineTo(s.x2, s.y2)
    ctx.stroke()
    ctx.lineCap = 'butt'
  }
}
