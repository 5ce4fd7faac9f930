/**
 * The scheduler console's link layer, without a browser: which lines a topology draws, where they
 * lie, which link a click picks, the order they are stroked in, and the view that fits the mesh.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  DIRECTED_OFFSET,
  drawnLinkId,
  linkAt,
  MERGE_ABOVE,
  NODE_RADIUS,
  type SceneLink,
  sceneLinks,
  segmentOf,
  strokeBatches,
  widthStep,
} from '../../console/scheduler/link-scene.ts'
import {
  DOWN_COLOR,
  LOSSY_COLOR,
  type Point,
  REGION_MARGIN,
  RTT_BANDS,
  regionAreas,
  regionFontSize,
  regionLayout,
  type TopologyLink,
  viewportFor,
} from '../../console/scheduler/model.ts'

function link(from: string, to: string, over: Partial<TopologyLink> = {}): TopologyLink {
  return {
    from,
    to,
    up: true,
    stale: false,
    rttMs: 10,
    jitterMs: 0,
    loss: 0,
    throughputBps: 0,
    activeFlows: 0,
    ...over,
  }
}

const ALL = new Set(['a', 'b', 'c'])

describe('the lines a topology draws', () => {
  test('a small mesh draws each direction with its own look; links to nodes not drawn are left out', () => {
    const lines = sceneLinks(
      [link('a', 'b', { rttMs: 5 }), link('b', 'a', { up: false }), link('a', 'x')],
      ALL,
    )
    assert.deepEqual(
      lines.map((l) => [l.id, l.directed, l.up, l.look.color]),
      [
        ['a>b', true, true, RTT_BANDS[0]?.color],
        ['b>a', true, false, DOWN_COLOR],
      ],
    )
  })

  test(`past ${MERGE_ABOVE} links both directions are one line, showing the worse`, () => {
    const ids = Array.from({ length: 40 }, (_, i) => `n${i}`)
    const links: TopologyLink[] = []
    for (const from of ids) for (const to of ids) if (from !== to) links.push(link(from, to))
    links.push(link('n0', 'n1', { loss: 0.5 }))
    links.shift()
    assert.ok(links.length > MERGE_ABOVE)
    const lines = sceneLinks(links, new Set(ids))
    assert.equal(lines.length, (40 * 39) / 2)
    const n0n1 = lines.find((l) => l.id === 'n0~n1')
    assert.equal(n0n1?.directed, false)
    assert.equal(n0n1?.look.color, LOSSY_COLOR)
    assert.equal(drawnLinkId(true, 'n1', 'n0'), 'n0~n1')
    assert.equal(drawnLinkId(false, 'n1', 'n0'), 'n1>n0')
  })

  test('widths come in a few steps, so that alike links stroke together', () => {
    assert.deepEqual([0.5, 1, 1.5, 2.1, 4, 6, 9].map(widthStep), [1, 1, 2, 3.5, 5, 7, 7])
    const lines = sceneLinks(
      [link('a', 'b', { throughputBps: 20e6 }), link('b', 'c', { throughputBps: 30e6 })],
      ALL,
    )
    assert.equal(lines[0]?.look.width, lines[1]?.look.width)
  })
})

describe('where a line lies', () => {
  const at = new Map<string, Point>([
    ['a', { x: 0, y: 0 }],
    ['b', { x: 100, y: 0 }],
  ])
  const [ab, ba] = sceneLinks([link('a', 'b'), link('b', 'a')], ALL) as [SceneLink, SceneLink]

  test('one direction runs right of its way and stops at the rim of its target', () => {
    assert.deepEqual(segmentOf(ab, at), {
      x1: 0,
      y1: DIRECTED_OFFSET,
      x2: 100 - NODE_RADIUS,
      y2: DIRECTED_OFFSET,
    })
    assert.deepEqual(segmentOf(ba, at), {
      x1: 100,
      y1: -DIRECTED_OFFSET,
      x2: NODE_RADIUS,
      y2: -DIRECTED_OFFSET,
    })
  })

  test('a line for both directions runs centre to centre; a line to a node without a place is not drawn', () => {
    const both: SceneLink = { ...ab, id: 'a~b', directed: false }
    assert.deepEqual(segmentOf(both, at), { x1: 0, y1: 0, x2: 100, y2: 0 })
    assert.equal(segmentOf({ ...ab, to: 'c' }, at), undefined)
  })

  test('a click picks the nearest line within the tolerance, and nothing beyond it', () => {
    const lines = [ab, ba]
    assert.equal(linkAt(lines, at, { x: 50, y: 5 }, 3)?.id, 'a>b')
    assert.equal(linkAt(lines, at, { x: 50, y: -4 }, 3)?.id, 'b>a')
    assert.equal(linkAt(lines, at, { x: 50, y: 30 }, 3), undefined)
    assert.equal(linkAt(lines, at, { x: -40, y: 0 }, 3), undefined, 'past the end of every line')
    assert.equal(linkAt([], at, { x: 50, y: 0 }, 3), undefined)
  })

  test('a wide line is picked anywhere on its width', () => {
    const wide: SceneLink = { ...ab, look: { ...ab.look, width: 7 } }
    assert.equal(linkAt([wide], at, { x: 50, y: DIRECTED_OFFSET + 4 }, 1)?.id, 'a>b')
    assert.equal(linkAt([ab], at, { x: 50, y: DIRECTED_OFFSET + 4 }, 1), undefined)
  })
})

describe('the order links are stroked in', () => {
  test('alike links form one batch; down links are drawn first, losing ones last, on top', () => {
    const lines = sceneLinks(
      [
        link('a', 'b', { loss: 0.1 }),
        link('b', 'a', { rttMs: 200 }),
        link('a', 'c', { rttMs: 5 }),
        link('c', 'a', { rttMs: 6 }),
        link('b', 'c', { up: false }),
        link('c', 'b', { rttMs: 30 }),
      ],
      ALL,
    )
    const batches = strokeBatches(lines)
    assert.deepEqual(
      batches.map((b) => [b.color, b.links.map((l) => l.id)]),
      [
        [DOWN_COLOR, ['b>c']],
        [RTT_BANDS[0]?.color, ['a>c', 'c>a']],
        [RTT_BANDS[1]?.color, ['c>b']],
        [RTT_BANDS[3]?.color, ['b>a']],
        [LOSSY_COLOR, ['a>b']],
      ],
    )
    assert.equal(batches[0]?.style, 'dashed')
  })
})

describe('the view that fits the mesh', () => {
  test('shows every node, every region circle and every region name', () => {
    const nodes = Array.from({ length: 60 }, (_, i) => ({ id: `n${i}`, region: `r${i % 4}` }))
    const positions = regionLayout(nodes)
    const regions = regionAreas(nodes)
    const { zoom, pan } = viewportFor(positions, regions, 800, 600)
    const onScreen = (x: number, y: number) => {
      const sx = x * zoom + pan.x
      const sy = y * zoom + pan.y
      return sx >= 0 && sx <= 800 && sy >= 0 && sy <= 600
    }
    for (const p of positions.values()) assert.ok(onScreen(p.x, p.y))
    for (const a of regions.values()) {
      const r = a.r + REGION_MARGIN
      assert.ok(onScreen(a.x - r, a.y) && onScreen(a.x + r, a.y) && onScreen(a.x, a.y + r))
      assert.ok(onScreen(a.x, a.y - r - regionFontSize(a)), 'the name above the circle')
    }
  })

  test('zooms in no further than twice for a lone node, and shows an empty mesh at its centre', () => {
    const positions = regionLayout([{ id: 'a', region: 'r' }])
    assert.equal(viewportFor(positions, regionAreas([{ id: 'a', region: 'r' }]), 4000, 4000).zoom, 2)
    assert.deepEqual(viewportFor(new Map(), new Map(), 800, 600), { zoom: 1, pan: { x: 400, y: 300 } })
  })
})
