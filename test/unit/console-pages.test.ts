import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { downtimeMs, endpointLook, rejectionRows, schedulerLink } from '../../console/node/model.ts'
import {
  gainSentence,
  linkLook,
  mergeDirections,
  mergeEvents,
  nodeLook,
  pathEdges,
  regionLayout,
  selectEvents,
  type TimelineEvent,
} from '../../console/scheduler/model.ts'
import {
  EMPTY_FORM,
  formFromService,
  problemsByField,
  serviceFromForm,
} from '../../console/scheduler/service-form-model.ts'
import {
  fmtAgo,
  fmtBitRate,
  fmtBytes,
  fmtClock,
  fmtMs,
  fmtPct,
  fmtSpan,
} from '../../console/shared/format.ts'
import { compareCells, filterRows, sortRows } from '../../console/shared/rows.ts'

describe('the topology layout', () => {
  test('groups nodes by region, never two on one spot, the same every time', () => {
    const nodes = ['a', 'b', 'c', 'd', 'e'].map((id, i) => ({ id, region: i < 3 ? 'us' : 'eu' }))
    const one = regionLayout(nodes)
    assert.deepEqual(one, regionLayout([...nodes].reverse()))
    const spots = new Set([...one.values()].map((p) => `${p.x},${p.y}`))
    assert.equal(spots.size, 5)
    const centre = (ids: string[]) => {
      const ps = ids.map((id) => one.get(id)!)
      return {
        x: ps.reduce((s, p) => s + p.x, 0) / ps.length,
        y: ps.reduce((s, p) => s + p.y, 0) / ps.length,
      }
    }
    const us = centre(['a', 'b', 'c'])
    const eu = centre(['d', 'e'])
    assert.ok(Math.hypot(us.x - eu.x, us.y - eu.y) > 100, 'regions sit apart')
  })

  test('places 500 nodes in 10 regions fast, with regions that do not overlap', () => {
    const nodes = Array.from({ length: 500 }, (_, i) => ({ id: `n${i}`, region: `r${i % 10}` }))
    const started = performance.now()
    const layout = regionLayout(nodes)
    assert.ok(performance.now() - started < 50)
    const boxes = Array.from({ length: 10 }, (_, r) => {
      const ps = nodes.filter((n) => n.region === `r${r}`).map((n) => layout.get(n.id)!)
      return {
        x0: Math.min(...ps.map((p) => p.x)),
        x1: Math.max(...ps.map((p) => p.x)),
        y0: Math.min(...ps.map((p) => p.y)),
        y1: Math.max(...ps.map((p) => p.y)),
        cx: ps.reduce((s, p) => s + p.x, 0) / ps.length,
        cy: ps.reduce((s, p) => s + p.y, 0) / ps.length,
      }
    })
    for (const [i, a] of boxes.entries())
      for (const b of boxes.slice(i + 1)) {
        const inside = b.cx > a.x0 && b.cx < a.x1 && b.cy > a.y0 && b.cy < a.y1
        assert.ok(!inside, 'no region centre inside another region')
      }
  })
})

describe('how links and nodes are drawn', () => {
  test('colour by RTT band, red when losing packets, grey and dashed when down; width by capacity', () => {
    const l = { up: true, stale: false, rttMs: 10, loss: 0, throughputBps: 0 }
    assert.deepEqual(linkLook(l), { color: '#2f855a', width: 1.5, style: 'solid' })
    assert.equal(linkLook({ ...l, rttMs: 100 }).color, '#dd6b20')
    assert.equal(linkLook({ ...l, rttMs: 500 }).color, '#9b2c2c')
    assert.equal(linkLook({ ...l, loss: 0.05 }).color, '#e53e3e')
    assert.deepEqual(linkLook({ ...l, up: false }), { color: '#a0aec0', width: 1, style: 'dashed' })
    assert.equal(linkLook({ ...l, up: false, stale: true }).style, 'dotted')
    assert.ok(linkLook({ ...l, throughputBps: 125e6 }).width > linkLook({ ...l, throughputBps: 125e3 }).width)
  })

  test('node looks, in order of what matters', () => {
    const n = { connected: true, draining: false, synced: true, lastNack: null }
    assert.equal(nodeLook(n), 'up')
    assert.equal(nodeLook({ ...n, connected: false, draining: true }), 'down')
    assert.equal(nodeLook({ ...n, draining: true }), 'draining')
    assert.equal(
      nodeLook({ ...n, synced: false, lastNack: { version: '1.2', error: 'x', at: null } }),
      'nack',
    )
    assert.equal(nodeLook({ ...n, synced: false }), 'stale')
  })

  test('a path walks its edges in order', () => {
    assert.deepEqual(pathEdges(['a', 'b', 'c']), ['a>b', 'b>c'])
    assert.deepEqual(pathEdges(['a']), [])
  })
})

describe('what routing buys, in words', () => {
  const direct = { nodes: ['a', 'c'], cost: 80, rttMs: 80, loss: 0, bottleneckBps: 0, costPerGb: 0 }
  test('latency: the direct link against the chosen path', () => {
    assert.equal(
      gainSentence({
        objective: 'latency',
        direct,
        chosen: null,
        yardstick: { figure: 'rttMs', unit: 'ms', chosen: 20, direct: 80 },
      }),
      'direct a → c would be 80 ms; the mesh gives 20 ms (60 ms, 75% better)',
    )
    assert.match(
      gainSentence({
        objective: 'latency',
        direct,
        chosen: null,
        yardstick: { figure: 'rttMs', unit: 'ms', chosen: 80, direct: 80 },
      }),
      /the direct link is the best path/,
    )
    assert.equal(
      gainSentence({
        objective: 'latency',
        direct: null,
        chosen: null,
        yardstick: { figure: 'rttMs', unit: 'ms', chosen: 20, direct: null },
      }),
      'no direct link works; the mesh gives 20 ms',
    )
  })
  test('throughput: more is better', () => {
    assert.match(
      gainSentence({
        objective: 'throughput',
        direct,
        chosen: null,
        yardstick: { figure: 'bottleneckBps', unit: 'B/s', chosen: 12.5e6, direct: 2.5e6 },
      }),
      /would be 20\.0 Mbit\/s; the mesh gives 100\.0 Mbit\/s \(80\.0 Mbit\/s, 400% better\)/,
    )
  })
})

describe('the timeline in the page', () => {
  const e = (id: number, kind: string, message: string, at = '2026-01-01T00:00:00Z'): TimelineEvent => ({
    id,
    at,
    kind,
    message,
  })
  test('keeps the newest, drops replays it has, in id order', () => {
    const held = [e(1, 'probe', 'x'), e(2, 'probe', 'y')]
    assert.deepEqual(
      mergeEvents(held, [e(2, 'probe', 'y'), e(3, 'probe', 'z')], 2).map((x) => x.id),
      [2, 3],
    )
  })
  test('filters by group, time and words, newest first', () => {
    const events = [
      e(1, 'node_connected', 'node a connected'),
      e(2, 'nack', 'node b refused'),
      e(3, 'path_switch', 'service web', '2026-01-01T00:10:00Z'),
    ]
    assert.deepEqual(
      selectEvents(events, new Set(['nodes', 'refusals', 'paths']), 0, '').map((x) => x.id),
      [3, 2, 1],
    )
    assert.deepEqual(
      selectEvents(events, new Set(['refusals']), 0, '').map((x) => x.id),
      [2],
    )
    assert.deepEqual(
      selectEvents(
        events,
        new Set(['nodes', 'refusals', 'paths']),
        Date.parse('2026-01-01T00:05:00Z'),
        '',
      ).map((x) => x.id),
      [3],
    )
    assert.deepEqual(
      selectEvents(events, new Set(['nodes', 'refusals']), 0, 'NODE B').map((x) => x.id),
      [2],
    )
  })
})

describe('tables', () => {
  test('sort numbers as numbers, text naturally, missing values last either way', () => {
    const rows = [{ v: 10 }, { v: null }, { v: 9 }, { v: 100 }]
    assert.deepEqual(
      sortRows(rows, (r) => r.v, 'asc').map((r) => r.v),
      [9, 10, 100, null],
    )
    assert.deepEqual(
      sortRows(rows, (r) => r.v, 'desc').map((r) => r.v),
      [100, 10, 9, null],
    )
    assert.ok(compareCells('n2', 'n10') < 0)
  })
  test('filter: every word must appear in some cell', () => {
    const rows = [
      { l: 'web', s: '10.0.0.1:5' },
      { l: 'api', s: '10.0.0.2:6' },
    ]
    assert.deepEqual(
      filterRows(rows, (r) => [r.l, r.s], 'WEB 10.0'),
      [rows[0]],
    )
    assert.deepEqual(
      filterRows(rows, (r) => [r.l, r.s], ''),
      rows,
    )
  })
})

describe('the numbers', () => {
  test('bytes, rates, times and ratios as operators read them', () => {
    assert.equal(fmtBytes(1536), '1.5 KiB')
    assert.equal(fmtBytes(null), '–')
    assert.equal(fmtBitRate(125_000_000), '1.0 Gbit/s')
    assert.equal(fmtBitRate(0), 'unknown')
    assert.equal(fmtMs(7.25), '7.3 ms')
    assert.equal(fmtMs(1500), '1.5 s')
    assert.equal(fmtPct(0.753), '75%')
    assert.equal(fmtSpan(185_000), '3 min 5 s')
    assert.equal(fmtAgo('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:00:04Z')), '4 s ago')
  })

  test('a clock time in 24 hours, in the local time zone; text that is not a time as it is', () => {
    const at = new Date(2026, 0, 1, 7, 5, 9)
    assert.equal(fmtClock(at.toISOString()), '07:05:09')
    assert.equal(fmtClock(new Date(2026, 0, 1, 19, 45, 0).toISOString()), '19:45:00')
    assert.equal(fmtClock('not a time'), 'not a time')
  })
})

describe('the service form', () => {
  test('turns fields into the document the API takes, and back', () => {
    const doc = serviceFromForm({
      ...EMPTY_FORM,
      name: ' web ',
      ingress: 'a web\nb :8080',
      egress: 'c, d',
      targets: '10.0.0.1:80\n10.0.0.2:80 3',
      maxHops: '3',
      multipath: 'stripe',
    })
    assert.deepEqual(doc, {
      name: 'web',
      ingress: [
        { node: 'a', listener: 'web' },
        { node: 'b', port: 8080 },
      ],
      egress: ['c', 'd'],
      targets: ['10.0.0.1:80', { address: '10.0.0.2:80', weight: 3 }],
      objective: 'latency',
      alternatives: 2,
      constraints: { max_hops: 3 },
      multipath: { mode: 'stripe', paths: 2 },
    })
    const back = formFromService(doc as never)
    assert.equal(back.ingress, 'a web\nb :8080')
    assert.equal(back.targets, '10.0.0.1:80\n10.0.0.2:80 3')
  })
  test('sorts the API problems under the field their key path names', () => {
    const by = problemsByField([
      'ingress[1].node: expected a name',
      'constraints.max_hops: too big',
      'targets: expected at least 1',
      'something about the whole',
    ])
    assert.deepEqual(by.get('ingress'), ['ingress[1].node: expected a name'])
    assert.deepEqual(by.get('maxHops'), ['constraints.max_hops: too big'])
    assert.deepEqual(by.get('targets'), ['targets: expected at least 1'])
    assert.deepEqual(by.get('form'), ['something about the whole'])
  })
})

describe('the node console', () => {
  test('rejections by listener and reason, most first, only those that happened', () => {
    const rows = rejectionRows([
      { name: 'web', rejected: { no_route: 2, draining: 0 } },
      { name: 'api', rejected: { max_connections: 5 } },
    ])
    assert.deepEqual(rows, [
      { listener: 'api', reason: 'max_connections', count: 5 },
      { listener: 'web', reason: 'no_route', count: 2 },
    ])
  })
  test('endpoint colour and downtime', () => {
    assert.equal(endpointLook({ health: 'healthy', ejected: true }), 'ejected')
    assert.equal(endpointLook({ health: 'unhealthy', ejected: false }), 'unhealthy')
    assert.equal(
      downtimeMs(
        { health: 'unhealthy', ejected: false, unhealthySince: '2026-01-01T00:00:00Z' },
        Date.parse('2026-01-01T00:01:00Z'),
      ),
      60_000,
    )
    assert.equal(downtimeMs({ health: 'healthy', ejected: false }, 0), null)
  })
  test('the link back to the scheduler console picks the node, and only for http(s)', () => {
    assert.equal(schedulerLink('http://127.0.0.1:9998/ui', 'a b'), 'http://127.0.0.1:9998/ui#node=a%20b')
    assert.equal(schedulerLink('javascript:alert(1)', 'a'), undefined)
    assert.equal(schedulerLink(undefined, 'a'), undefined)
  })
})

describe('a big mesh draws each link once', () => {
  const l = (from: string, to: string, rttMs: number, up = true, loss = 0, throughputBps = 0) => ({
    from,
    to,
    up,
    stale: false,
    rttMs,
    jitterMs: 0,
    loss,
    throughputBps,
    activeFlows: 0,
  })
  test('both directions become one line showing the worse direction and the larger capacity', () => {
    const merged = mergeDirections([
      l('a', 'b', 10, true, 0, 5),
      l('b', 'a', 30, true, 0, 9),
      l('c', 'a', 5, false),
      l('a', 'c', 1),
    ])
    assert.deepEqual(
      merged.map((m) => [m.id, m.rttMs, m.up, m.throughputBps]),
      [
        ['a~b', 30, true, 9],
        ['a~c', 5, false, 0],
      ],
    )
    const lossy = mergeDirections([l('a', 'b', 10, true, 0.1), l('b', 'a', 90)])
    assert.equal(lossy[0]?.loss, 0.1, 'losing packets is worse than a long RTT')
  })
})
