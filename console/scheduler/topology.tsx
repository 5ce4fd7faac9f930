/**
 * The mesh as a graph (Cytoscape.js): nodes in region circles, placed by regionLayout; links
 * coloured by RTT and loss, as wide as their capacity; down links dashed; disconnected and
 * draining nodes marked. The graph is made once and updated in place, in one batch per update,
 * so a 500-node mesh redraws without rebuilding. What is drawn is also written on the container
 * (data-nodes, data-links, data-highlighted) for scripts and tests to read.
 */
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape'
import { memo } from 'preact/compat'
import { useEffect, useRef } from 'preact/hooks'
import {
  DOWN_COLOR,
  edgeId,
  type LinkLook,
  LOSSY_COLOR,
  linkLook,
  mergeDirections,
  nodeLook,
  pairId,
  RTT_BANDS,
  regionAreas,
  regionLayout,
  type Topology,
} from './model.ts'

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

/** Past this many links, edges are drawn straight and without arrows (haystack): far cheaper to render. */
const HAYSTACK_ABOVE = 1200

/**
 * Colours and widths go by class, not by data mappers: elements sharing classes share their style
 * computation, which is most of what adding thousands of links costs.
 */
const EDGE_COLORS = [...RTT_BANDS.map((b) => b.color), LOSSY_COLOR, DOWN_COLOR]
/** Line widths in a few steps: every selector is matched against every element when styles apply. */
const WIDTHS = [1, 2, 3.5, 5, 7]

function edgeClasses(look: LinkLook): string {
  const style = look.style === 'solid' ? '' : ` ${look.style}`
  const step = WIDTHS.findIndex((w) => look.width <= w)
  return `c${EDGE_COLORS.indexOf(look.color)} w${step === -1 ? WIDTHS.length - 1 : step}${style}`
}

function lookStyles(haystack: boolean): cytoscape.StylesheetJson {
  const colors = EDGE_COLORS.map((color, i) => ({
    selector: `edge.c${i}`,
    style: { 'line-color': color, ...(haystack ? {} : { 'target-arrow-color': color }) },
  }))
  const widths = WIDTHS.map((width, w) => ({ selector: `edge.w${w}`, style: { width } }))
  const nodes = Object.entries(NODE_COLORS).map(([look, color]) => ({
    selector: `node.${look}`,
    style: { 'background-color': color, 'border-width': look === 'draining' ? 4 : look === 'down' ? 2 : 0 },
  }))
  return [...colors, ...widths, ...nodes]
}

/** A big mesh seen whole shows no node names (they would be unreadable, and measuring them costs); zoomed in this far it does. */
const LABELS_FROM_ZOOM = 0.6

function style(haystack: boolean, labels = true): cytoscape.StylesheetJson {
  return [
    {
      selector: 'node',
      style: {
        label: labels ? 'data(label)' : '',
        'border-color': '#dd6b20',
        width: 26,
        height: 26,
        'font-size': 11,
        'text-valign': 'bottom',
        'text-margin-y': 3,
        color: '#1a202c',
        'z-index-compare': 'manual',
        'z-index': 2,
        // Too small to read: not drawn, which spares drawing hundreds of labels at a glance over the mesh.
        'min-zoomed-font-size': 7,
      },
    },
    {
      selector: 'node.region',
      style: {
        label: 'data(label)',
        width: 'data(size)',
        height: 'data(size)',
        'text-valign': 'top',
        'text-halign': 'center',
        'font-size': 'data(font)',
        'font-weight': 'bold',
        color: '#4a5568',
        'background-color': '#edf2f7',
        'background-opacity': 0.7,
        'border-width': 1,
        'border-color': '#cbd5e0',
        shape: 'ellipse',
        // Behind the links, which are behind the nodes: the region only groups them.
        'z-index-compare': 'manual',
        'z-index': 0,
        events: 'no',
      },
    },
    {
      selector: 'edge',
      style: {
        'curve-style': haystack ? 'haystack' : 'bezier',
        ...(haystack ? { 'haystack-radius': 0.3 } : { 'target-arrow-shape': 'triangle', 'arrow-scale': 0.6 }),
        opacity: 0.85,
        'z-index-compare': 'manual',
        'z-index': 1,
      },
    },
    ...lookStyles(haystack),
    { selector: 'edge.dashed', style: { 'line-style': 'dashed' } },
    { selector: 'edge.dotted', style: { 'line-style': 'dotted' } },
    { selector: 'node.down', style: { 'border-style': 'dashed', 'border-color': '#718096' } },
    {
      selector: 'edge.path',
      style: {
        'line-color': '#6b46c1',
        'target-arrow-color': '#6b46c1',
        width: 6,
        opacity: 1,
        'z-index': 10,
      },
    },
    {
      selector: 'node.path',
      style: { 'border-width': 4, 'border-color': '#6b46c1', 'border-style': 'solid' },
    },
    { selector: 'node:selected', style: { 'overlay-opacity': 0.15, 'overlay-color': '#000' } },
    { selector: 'edge:selected', style: { 'overlay-opacity': 0.2, 'overlay-color': '#000' } },
  ]
}

function membership(t: Topology): string {
  return t.nodes.map((n) => `${n.id}@${n.region}`).join('|')
}

/**
 * What an element looks like, as one string: an element whose look did not change is not touched,
 * since every data() call makes Cytoscape restyle it (thousands of links a second otherwise).
 */
type Looks = Map<string, string>

function setLook(
  cy: Core,
  looks: Looks,
  id: string,
  data: Record<string, unknown>,
  classes: string,
): boolean {
  const sig = `${JSON.stringify(data)}|${classes}`
  if (looks.get(id) === sig) return false
  looks.set(id, sig)
  const el = cy.getElementById(id)
  if (el.empty()) return true
  el.data(data)
  el.classes(classes)
  return false
}

function update(cy: Core, t: Topology, placed: { key: string }, looks: Looks): void {
  const key = membership(t)
  const moved = key !== placed.key
  const positions = moved ? regionLayout(t.nodes) : undefined
  placed.key = key
  const wanted = new Set<string>()
  const add: ElementDefinition[] = []
  // Regions are circles behind their nodes, placed with them: compound nodes cost seconds at 500 nodes.
  for (const [region, area] of moved ? regionAreas(t.nodes) : []) {
    const id = `region:${region}`
    const data = {
      id,
      label: region,
      size: 2 * area.r + 40,
      font: Math.max(13, Math.round(area.r / 8)),
    }
    const position = { x: area.x, y: area.y }
    if (setLook(cy, looks, id, data, 'region'))
      add.push({ group: 'nodes', data, classes: 'region', position })
    else cy.getElementById(id).position(position)
  }
  for (const region of new Set(t.nodes.map((n) => n.region))) wanted.add(`region:${region}`)
  for (const n of t.nodes) {
    wanted.add(n.id)
    const look = nodeLook(n)
    const data = {
      id: n.id,
      label: look === 'draining' ? `${n.id} (draining)` : look === 'down' ? `${n.id} (down)` : n.id,
    }
    const position = positions?.get(n.id)
    const classes = look
    if (setLook(cy, looks, n.id, data, classes))
      add.push({ group: 'nodes', data, classes, ...(position && { position }) })
    else if (position) cy.getElementById(n.id).position(position)
  }
  const nodeIds = new Set(t.nodes.map((n) => n.id))
  const merged = t.links.length > HAYSTACK_ABOVE
  const drawn = merged ? mergeDirections(t.links) : t.links.map((l) => ({ ...l, id: edgeId(l.from, l.to) }))
  for (const l of drawn) {
    if (!nodeIds.has(l.from) || !nodeIds.has(l.to)) continue
    const id = l.id
    wanted.add(id)
    const look = linkLook(l)
    const data = { id, source: l.from, target: l.to, up: l.up }
    const classes = edgeClasses(look)
    if (setLook(cy, looks, id, data, classes)) add.push({ group: 'edges', data, classes })
  }
  const gone = cy.elements().filter((el) => !wanted.has(el.id()))
  for (const el of gone) looks.delete(el.id())
  gone.remove()
  if (add.length > 0) cy.add(add)
}

/** The element drawn for a directed link: itself, or the line of its pair in a merged (big) mesh. */
function drawnId(cy: Core, directed: string): string {
  if (!cy.getElementById(directed).empty()) return directed
  const [from = '', to = ''] = directed.split('>')
  return pairId(from, to)
}

/** The zoom and pan that show every position, with room for labels and region circles. */
export function viewportFor(
  positions: ReadonlyMap<string, { x: number; y: number }>,
  width: number,
  height: number,
): { zoom: number; pan: { x: number; y: number } } {
  const xs = [...positions.values()].map((p) => p.x)
  const ys = [...positions.values()].map((p) => p.y)
  const margin = 90
  const x0 = Math.min(...xs) - margin
  const x1 = Math.max(...xs) + margin
  const y0 = Math.min(...ys) - margin
  const y1 = Math.max(...ys) + margin
  const zoom = Math.min(2, Math.max(0.05, Math.min(width / (x1 - x0), height / (y1 - y0))))
  return { zoom, pan: { x: width / 2 - zoom * ((x0 + x1) / 2), y: height / 2 - zoom * ((y0 + y1) / 2) } }
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
  const cy = useRef<Core | null>(null)
  const placed = useRef({ key: '' })
  const fitted = useRef(false)
  const pick = useRef(p.onPick)
  pick.current = p.onPick

  const looks = useRef<Looks>(new Map())
  const haystack = useRef(false)
  const labelled = useRef(true)

  useEffect(() => {
    if (!box.current) return
    const instance = cytoscape({
      container: box.current,
      style: style(false),
      layout: { name: 'preset' },
      minZoom: 0.05,
      maxZoom: 4,
      boxSelectionEnabled: false,
      autoungrabify: false,
      pixelRatio: 1,
    })
    instance.on('zoom', () => {
      if (!haystack.current) return
      const want = instance.zoom() >= LABELS_FROM_ZOOM
      if (want === labelled.current) return
      labelled.current = want
      instance.style(style(true, want))
    })
    instance.on('tap', 'node', (e) => {
      const id = e.target.id() as string
      if (!id.startsWith('region:')) pick.current({ kind: 'node', id })
    })
    instance.on('tap', 'edge', (e) =>
      pick.current({ kind: 'link', from: e.target.data('source'), to: e.target.data('target') }),
    )
    instance.on('tap', (e) => {
      if (e.target === instance) pick.current(null)
    })
    cy.current = instance
    return () => {
      instance.destroy()
      cy.current = null
    }
  }, [])

  useEffect(() => {
    const instance = cy.current
    const el = box.current
    if (!instance || !el) return
    const big = p.topology.links.length > HAYSTACK_ABOVE
    if (big !== haystack.current) {
      haystack.current = big
      labelled.current = !big || instance.zoom() >= LABELS_FROM_ZOOM
      instance.style(style(big, labelled.current))
    }
    instance.batch(() => update(instance, p.topology, placed.current, looks.current))
    if (!fitted.current && p.topology.nodes.length > 0) {
      // From the layout's own extent: cy.fit() measures every element's box, seconds at 500 nodes.
      instance.viewport(viewportFor(regionLayout(p.topology.nodes), el.clientWidth, el.clientHeight))
      fitted.current = true
    }
    el.dataset.nodes = String(p.topology.nodes.length)
    el.dataset.links = String(instance.edges().length)
    el.dataset.down = instance
      .edges()
      .filter((e) => e.data('up') === false)
      .map((e) => e.id())
      .join(',')
  }, [p.topology])

  useEffect(() => {
    const instance = cy.current
    const el = box.current
    if (!instance || !el) return
    instance.batch(() => {
      instance.elements('.path').removeClass('path')
      for (const id of p.highlight) instance.getElementById(drawnId(instance, id)).addClass('path')
      for (const id of p.highlightNodes) instance.getElementById(id).addClass('path')
    })
    el.dataset.highlighted = p.highlight
      .filter((id) => !instance.getElementById(drawnId(instance, id)).empty())
      .join(',')
  }, [p.highlight, p.highlightNodes, p.topology])

  useEffect(() => {
    const instance = cy.current
    if (!instance) return
    instance.elements(':selected').unselect()
    if (p.picked?.kind === 'node') instance.getElementById(p.picked.id).select()
    if (p.picked?.kind === 'link')
      instance.getElementById(drawnId(instance, edgeId(p.picked.from, p.picked.to))).select()
  }, [p.picked])

  return (
    <div class="topology-box">
      <div id="topology" class="topology" ref={box} />
      <button
        type="button"
        class="fit"
        onClick={() => {
          const el = box.current
          if (el)
            cy.current?.viewport(viewportFor(regionLayout(p.topology.nodes), el.clientWidth, el.clientHeight))
        }}
      >
        fit
      </button>
    </div>
  )
}
