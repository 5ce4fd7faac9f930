/**
 * The mesh as a graph (Cytoscape.js): nodes in region boxes, placed by regionLayout; links
 * coloured by RTT and loss, as wide as their capacity; down links dashed; disconnected and
 * draining nodes marked. The graph is made once and updated in place, in one batch per update,
 * so a 500-node mesh redraws without rebuilding. What is drawn is also written on the container
 * (data-nodes, data-links, data-highlighted) for scripts and tests to read.
 */
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape'
import { useEffect, useRef } from 'preact/hooks'
import { edgeId, linkLook, nodeLook, regionLayout, type Topology } from './model.ts'

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

function style(haystack: boolean): cytoscape.StylesheetJson {
  return [
    {
      selector: 'node',
      style: {
        label: 'data(label)',
        'background-color': 'data(color)',
        'border-width': 'data(border)',
        'border-color': '#dd6b20',
        width: 26,
        height: 26,
        'font-size': 11,
        'text-valign': 'bottom',
        'text-margin-y': 3,
        color: '#1a202c',
      },
    },
    {
      selector: ':parent',
      style: {
        label: 'data(label)',
        'text-valign': 'top',
        'text-halign': 'center',
        'font-size': 13,
        'font-weight': 'bold',
        color: '#4a5568',
        'background-color': '#edf2f7',
        'background-opacity': 0.6,
        'border-width': 1,
        'border-color': '#cbd5e0',
        shape: 'round-rectangle',
        padding: '18px',
      },
    },
    {
      selector: 'edge',
      style: {
        width: 'data(width)',
        'line-color': 'data(color)',
        'curve-style': haystack ? 'haystack' : 'bezier',
        ...(haystack
          ? { 'haystack-radius': 0.3 }
          : { 'target-arrow-shape': 'triangle', 'target-arrow-color': 'data(color)', 'arrow-scale': 0.6 }),
        opacity: 0.85,
      },
    },
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

function update(cy: Core, t: Topology, placed: { key: string }): void {
  const key = membership(t)
  const positions = key === placed.key ? undefined : regionLayout(t.nodes)
  placed.key = key
  const wanted = new Set<string>()
  const add: ElementDefinition[] = []
  for (const region of new Set(t.nodes.map((n) => n.region))) {
    const id = `region:${region}`
    wanted.add(id)
    if (cy.getElementById(id).empty())
      add.push({ group: 'nodes', data: { id, label: region, color: '#edf2f7', border: 0 } })
  }
  for (const n of t.nodes) {
    wanted.add(n.id)
    const look = nodeLook(n)
    const data = {
      id: n.id,
      label: look === 'draining' ? `${n.id} (draining)` : look === 'down' ? `${n.id} (down)` : n.id,
      parent: `region:${n.region}`,
      color: NODE_COLORS[look],
      look,
      border: look === 'draining' ? 4 : look === 'down' ? 2 : 0,
    }
    const el = cy.getElementById(n.id)
    const position = positions?.get(n.id)
    const classes = look === 'down' ? 'down' : ''
    if (el.empty()) add.push({ group: 'nodes', data, classes, ...(position && { position }) })
    else {
      el.data(data)
      el.classes(classes)
      if (position) el.position(position)
    }
  }
  const nodeIds = new Set(t.nodes.map((n) => n.id))
  for (const l of t.links) {
    if (!nodeIds.has(l.from) || !nodeIds.has(l.to)) continue
    const id = edgeId(l.from, l.to)
    wanted.add(id)
    const look = linkLook(l)
    const data = { id, source: l.from, target: l.to, color: look.color, width: look.width, up: l.up }
    const classes = look.style === 'solid' ? '' : look.style
    const el = cy.getElementById(id)
    if (el.empty()) add.push({ group: 'edges', data, classes })
    else {
      el.data(data)
      el.classes(classes)
    }
  }
  cy.elements()
    .filter((el) => !wanted.has(el.id()))
    .remove()
  if (add.length > 0) cy.add(add)
}

export interface TopologyProps {
  readonly topology: Topology
  /** Edges (edgeId) and nodes of the path to draw on top. */
  readonly highlight: readonly string[]
  readonly highlightNodes: readonly string[]
  readonly picked: Picked | null
  readonly onPick: (picked: Picked | null) => void
}

export function TopologyView(p: TopologyProps) {
  const box = useRef<HTMLDivElement>(null)
  const cy = useRef<Core | null>(null)
  const placed = useRef({ key: '' })
  const fitted = useRef(false)
  const pick = useRef(p.onPick)
  pick.current = p.onPick

  useEffect(() => {
    if (!box.current) return
    const big = p.topology.links.length > HAYSTACK_ABOVE
    const instance = cytoscape({
      container: box.current,
      style: style(big),
      layout: { name: 'preset' },
      minZoom: 0.05,
      maxZoom: 4,
      boxSelectionEnabled: false,
      autoungrabify: false,
      textureOnViewport: big,
      hideEdgesOnViewport: big,
      pixelRatio: 1,
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
    instance.batch(() => update(instance, p.topology, placed.current))
    if (!fitted.current && p.topology.nodes.length > 0) {
      instance.fit(undefined, 30)
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
      for (const id of p.highlight) instance.getElementById(id).addClass('path')
      for (const id of p.highlightNodes) instance.getElementById(id).addClass('path')
    })
    el.dataset.highlighted = p.highlight.filter((id) => !instance.getElementById(id).empty()).join(',')
  }, [p.highlight, p.highlightNodes, p.topology])

  useEffect(() => {
    const instance = cy.current
    if (!instance) return
    instance.elements(':selected').unselect()
    if (p.picked?.kind === 'node') instance.getElementById(p.picked.id).select()
    if (p.picked?.kind === 'link') instance.getElementById(edgeId(p.picked.from, p.picked.to)).select()
  }, [p.picked])

  return (
    <div class="topology-box">
      <div id="topology" class="topology" ref={box} />
      <button type="button" class="fit" onClick={() => cy.current?.fit(undefined, 30)}>
        fit
      </button>
    </div>
  )
}
