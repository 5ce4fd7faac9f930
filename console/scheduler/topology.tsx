/**
 * The mesh as a graph: Cytoscape.js holds the nodes (placed by regionLayout, coloured by state,
 * draggable, picked with a tap) and the viewport; the link layer under it draws the region
 * circles and every link (coloured by RTT and loss, as wide as its capacity, down links dashed),
 * the selected service's path and the picked link. Cytoscape styles and measures each element it
 * holds, which at 3,000 links cost most of a second per first render and a tenth per redraw; the
 * layer strokes them in a few batches. Updates touch only what changed. What is drawn is also
 * written on the container (data-nodes, data-links, data-down, data-highlighted) for scripts and
 * tests to read.
 */
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape'
import { memo } from 'preact/compat'
import { useEffect, useRef } from 'preact/hooks'
import { LinkLayer } from './link-layer.ts'
import { drawnLinkId, linkAt, mergesDirections, sceneLinks } from './link-scene.ts'
import { nodeLook, type Point, regionAreas, regionLayout, type Topology, viewportFor } from './model.ts'

export type Picked =
  | { readonly kind: 'node'; readonly id: string }
  | { readonly kind: 'link'; readonly from: string; readonly to: string }

const NODE_COLORS: Readonly<Record<string, string>> = {
  up: '#3182ce',
  draining: '#dd6b20',
  stale: '#d69e2e',
  nack: '#c53030',
  down: '#a0aec0',
}

/** How near a link a tap must land to pick it, in screen pixels. */
const TAP_TOLERANCE_PX = 5

/** States go by class, not by data mappers: nodes sharing classes share their style computation. */
function style(): cytoscape.StylesheetJson {
  const looks = Object.entries(NODE_COLORS).map(([look, color]) => ({
    selector: `node.${look}`,
    style: { 'background-color': color, 'border-width': look === 'draining' ? 4 : look === 'down' ? 2 : 0 },
  }))
  return [
    {
      selector: 'node',
      style: {
        label: 'data(label)',
        'border-color': '#dd6b20',
        width: 26,
        height: 26,
        'font-size': 11,
        'text-valign': 'bottom',
        'text-margin-y': 3,
        color: '#1a202c',
        // Too small to read: not drawn, which spares drawing hundreds of labels at a glance over the mesh.
        'min-zoomed-font-size': 7,
      },
    },
    ...looks,
    { selector: 'node.down', style: { 'border-style': 'dashed', 'border-color': '#718096' } },
    {
      selector: 'node.path',
      style: { 'border-width': 4, 'border-color': '#6b46c1', 'border-style': 'solid' },
    },
    { selector: 'node:selected', style: { 'overlay-opacity': 0.15, 'overlay-color': '#000' } },
  ]
}

function membership(t: Topology): string {
  return t.nodes.map((n) => `${n.id}@${n.region}`).join('|')
}

/**
 * How each node is drawn (its NodeLook, which also decides its label): a node whose look did not
 * change is not touched, since every data() call makes Cytoscape restyle it.
 */
type Looks = Map<string, string>

/** Where the nodes are: from the layout when the mesh's members change, then as dragged by hand. */
type Positions = Map<string, Point>

function nodeLabel(id: string, look: string): string {
  return look === 'draining' ? `${id} (draining)` : look === 'down' ? `${id} (down)` : id
}

/** Adds, restyles and removes nodes to match the topology; returns whether the layout was redone. */
function updateNodes(
  cy: Core,
  t: Topology,
  placed: { key: string },
  looks: Looks,
  positions: Positions,
): boolean {
  const key = membership(t)
  const moved = key !== placed.key
  placed.key = key
  if (moved) {
    positions.clear()
    for (const [id, point] of regionLayout(t.nodes)) positions.set(id, point)
  }
  const wanted = new Set<string>()
  const add: ElementDefinition[] = []
  for (const n of t.nodes) {
    wanted.add(n.id)
    const look = nodeLook(n)
    const label = nodeLabel(n.id, look)
    const position = positions.get(n.id)
    const held = looks.get(n.id)
    if (held === undefined) add.push({ group: 'nodes', data: { id: n.id, label }, classes: look, position })
    else if (held !== look) cy.getElementById(n.id).data('label', label).classes(look)
    looks.set(n.id, look)
    if (moved && held !== undefined && position) cy.getElementById(n.id).position(position)
  }
  const gone = cy.nodes().filter((el) => !wanted.has(el.id()))
  for (const el of gone) looks.delete(el.id())
  gone.remove()
  if (add.length > 0) cy.add(add)
  return moved
}

/** Marks the path's nodes, touching the graph only when they changed: a restyled node redraws the whole graph. */
function markPath(cy: Core, ids: readonly string[]): void {
  const want = new Set(ids.filter((id) => !cy.getElementById(id).empty()))
  const marked = cy.nodes('.path')
  if (marked.length === want.size && marked.toArray().every((n) => want.has(n.id()))) return
  cy.batch(() => {
    marked.removeClass('path')
    for (const id of want) cy.getElementById(id).addClass('path')
  })
}

export interface TopologyProps {
  readonly topology: Topology
  /** Edges (edgeId) and nodes of the path to draw on top. */
  readonly highlight: readonly string[]
  readonly highlightNodes: readonly string[]
  readonly picked: Picked | null
  readonly onPick: (picked: Picked | null) => void
}

/** Re-rendered only when what it draws changes, not with every tick of the page. */
export const TopologyView = memo(TopologyGraph)

function TopologyGraph(p: TopologyProps) {
  const box = useRef<HTMLDivElement>(null)
  const canvas = useRef<HTMLCanvasElement>(null)
  const cy = useRef<Core | null>(null)
  const layer = useRef<LinkLayer | null>(null)
  const placed = useRef({ key: '' })
  const fitted = useRef(false)
  const pick = useRef(p.onPick)
  pick.current = p.onPick
  const looks = useRef<Looks>(new Map())
  const positions = useRef<Positions>(new Map())

  useEffect(() => {
    if (!box.current || !canvas.current) return
    const links = new LinkLayer(canvas.current, positions.current)
    const instance = cytoscape({
      container: box.current,
      style: style(),
      layout: { name: 'preset' },
      minZoom: 0.05,
      maxZoom: 4,
      boxSelectionEnabled: false,
      autoungrabify: false,
      pixelRatio: 1,
    })
    const el = box.current
    const resized = new ResizeObserver(() => links.resize(el.clientWidth, el.clientHeight))
    resized.observe(el)
    instance.on('viewport', () => links.view({ zoom: instance.zoom(), pan: instance.pan() }))
    instance.on('drag', 'node', (e) => {
      positions.current.set(e.target.id() as string, { ...e.target.position() })
      links.show({})
    })
    instance.on('tap', 'node', (e) => pick.current({ kind: 'node', id: e.target.id() as string }))
    instance.on('tap', (e) => {
      if (e.target !== instance) return
      const { links: drawn, positions: at } = links.scene
      const hit = linkAt(drawn, at, e.position, TAP_TOLERANCE_PX / instance.zoom())
      pick.current(hit ? { kind: 'link', from: hit.from, to: hit.to } : null)
    })
    links.view({ zoom: instance.zoom(), pan: instance.pan() })
    cy.current = instance
    layer.current = links
    return () => {
      resized.disconnect()
      links.destroy()
      instance.destroy()
      cy.current = null
      layer.current = null
    }
  }, [])

  useEffect(() => {
    const instance = cy.current
    const links = layer.current
    const el = box.current
    if (!instance || !links || !el) return
    const t = p.topology
    let moved = false
    instance.batch(() => {
      moved = updateNodes(instance, t, placed.current, looks.current, positions.current)
    })
    const drawn = sceneLinks(t.links, new Set(t.nodes.map((n) => n.id)))
    links.show(moved ? { links: drawn, regions: regionAreas(t.nodes) } : { links: drawn })
    if (!fitted.current && t.nodes.length > 0) {
      // From the layout's own extent: cy.fit() measures every element's box.
      instance.viewport(viewportFor(positions.current, links.scene.regions, el.clientWidth, el.clientHeight))
      fitted.current = true
    }
    el.dataset.nodes = String(t.nodes.length)
    el.dataset.links = String(drawn.length)
    el.dataset.down = drawn
      .filter((l) => !l.up)
      .map((l) => l.id)
      .join(',')
  }, [p.topology])

  const merged = mergesDirections(p.topology.links.length)

  useEffect(() => {
    const instance = cy.current
    const links = layer.current
    const el = box.current
    if (!instance || !links || !el) return
    const drawnIds = new Set(links.scene.links.map((l) => l.id))
    const path = new Map<string, string>()
    for (const id of p.highlight) {
      const [from = '', to = ''] = id.split('>')
      const drawn = drawnLinkId(merged, from, to)
      if (drawnIds.has(drawn)) path.set(id, drawn)
    }
    links.show({ path: new Set(path.values()) })
    markPath(instance, p.highlightNodes)
    el.dataset.highlighted = [...path.keys()].join(',')
  }, [p.highlight, p.highlightNodes, p.topology])

  useEffect(() => {
    const instance = cy.current
    if (!instance) return
    instance.nodes(':selected').unselect()
    if (p.picked?.kind === 'node') instance.getElementById(p.picked.id).select()
  }, [p.picked])

  useEffect(() => {
    layer.current?.show({
      picked: p.picked?.kind === 'link' ? drawnLinkId(merged, p.picked.from, p.picked.to) : undefined,
    })
  }, [p.picked, merged])

  return (
    <div class="topology-box">
      <canvas class="topology-links" ref={canvas} />
      <div id="topology" class="topology" ref={box} />
      <button
        type="button"
        class="fit"
        onClick={() => {
          const el = box.current
          const regions = layer.current?.scene.regions ?? new Map()
          if (el)
            cy.current?.viewport(viewportFor(positions.current, regions, el.clientWidth, el.clientHeight))
        }}
      >
        fit
      </button>
    </div>
  )
}
