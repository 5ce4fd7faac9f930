import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { linkEvents, linkStates, pathSwitches, switchEvent } from '../../src/scheduler/console/changes.ts'
import { EventLog, filterEvents, type SchedulerEvent } from '../../src/scheduler/console/events.ts'
import type { ComputedPath } from '../../src/scheduler/paths/types.ts'
import type { Selection } from '../../src/scheduler/plan/planner.ts'
import type { LinkView } from '../../src/scheduler/telemetry.ts'

function path(nodes: string[], cost: number): ComputedPath {
  return { nodes, cost, metrics: { rttMs: cost, bottleneckBps: 0, loss: 0, costPerGb: 0 } }
}

function selection(chosen: string[] | undefined, candidates: ComputedPath[]): Selection {
  const base = {
    key: 'web|a|listener:web',
    service: 'web',
    ingress: { node: 'a', listener: 'web' },
    candidates,
  }
  if (chosen === undefined) return base
  const p = candidates.find((c) => c.nodes.join() === chosen.join()) ?? path(chosen, 99)
  return { ...base, choice: { path: p, since: 0, left: [] } }
}

function link(from: string, to: string, up: boolean, loss = 0): LinkView {
  return {
    from,
    to,
    up,
    reportedUp: up,
    stale: false,
    rttMs: 10,
    jitterMs: 0,
    loss,
    throughputBps: 0,
    activeFlows: 0,
    reportedAt: 0,
    ageMs: 0,
  }
}

describe('the event log', () => {
  test('numbers events, keeps the newest `capacity` of them, oldest first', () => {
    const log = new EventLog(3)
    for (let i = 1; i <= 5; i++) log.append({ kind: 'probe', message: `m${i}` }, i * 1000)
    assert.deepEqual(
      log.all().map((e) => [e.id, e.message, e.at]),
      [
        [3, 'm3', 3000],
        [4, 'm4', 4000],
        [5, 'm5', 5000],
      ],
    )
    assert.equal(log.lastId, 5)
    assert.throws(() => new EventLog(0), /capacity 0/)
  })

  test('filters by kind, node (also as a link end), service, id, time, and keeps the newest of a limit', () => {
    const events: SchedulerEvent[] = [
      { id: 1, at: 1000, kind: 'node_connected', message: 'a', nodes: ['a'] },
      { id: 2, at: 2000, kind: 'link_down', message: 'b>c', nodes: [], link: { from: 'b', to: 'c' } },
      { id: 3, at: 3000, kind: 'path_switch', message: 'web', nodes: ['a', 'b'], service: 'web' },
      { id: 4, at: 4000, kind: 'nack', message: 'c', nodes: ['c'] },
    ]
    const ids = (f: Parameters<typeof filterEvents>[1]) => filterEvents(events, f).map((e) => e.id)
    assert.deepEqual(ids({ kinds: new Set(['nack', 'link_down']) }), [2, 4])
    assert.deepEqual(ids({ node: 'c' }), [2, 4])
    assert.deepEqual(ids({ service: 'web' }), [3])
    assert.deepEqual(ids({ afterId: 2 }), [3, 4])
    assert.deepEqual(ids({ sinceMs: 3000 }), [3, 4])
    assert.deepEqual(ids({ limit: 2 }), [3, 4])
    assert.deepEqual(ids({}), [1, 2, 3, 4])
  })
})

describe('path switches between two plans', () => {
  const abc = path(['a', 'b', 'c'], 20)
  const ac = path(['a', 'c'], 80)

  test('a first path, an improvement, a broken path and a lost path each say why', () => {
    assert.deepEqual(
      pathSwitches([selection(undefined, [])], [selection(['a', 'b', 'c'], [abc, ac])]).map((s) => s.reason),
      ['first'],
    )
    const improved = pathSwitches([selection(['a', 'c'], [ac])], [selection(['a', 'b', 'c'], [abc, ac])])
    assert.equal(improved[0]?.reason, 'improved')
    assert.equal(improved[0]?.costBefore, 80)
    assert.equal(improved[0]?.costAfter, 20)
    assert.equal(
      pathSwitches([selection(['a', 'b', 'c'], [abc])], [selection(['a', 'c'], [ac])])[0]?.reason,
      'current_gone',
    )
    const lost = pathSwitches([selection(['a', 'c'], [ac])], [selection(undefined, [])])
    assert.equal(lost[0]?.reason, 'no_path')
    assert.equal(switchEvent(lost[0]!).kind, 'path_lost')
  })

  test('the same path, or a service gone from the plan, is no switch', () => {
    assert.deepEqual(pathSwitches([selection(['a', 'c'], [ac])], [selection(['a', 'c'], [ac])]), [])
    assert.deepEqual(pathSwitches([selection(['a', 'c'], [ac])], []), [])
  })

  test('the event names the service, every node of both paths, and the reason', () => {
    const [s] = pathSwitches([selection(['a', 'c'], [ac])], [selection(['a', 'b', 'c'], [abc, ac])])
    const e = switchEvent(s!)
    assert.equal(e.kind, 'path_switch')
    assert.equal(e.service, 'web')
    assert.deepEqual(e.nodes, ['a', 'c', 'b'])
    assert.match(
      e.message,
      /service web from a: a→c → a→b→c: a better path passed the hysteresis margins \(cost 80 → 20\)/,
    )
  })
})

describe('link changes', () => {
  test('a link seen for the first time says nothing; then down, up, lossy and clean again', () => {
    const first = [link('a', 'b', false)]
    const s1 = linkStates(first, new Map())
    assert.deepEqual(linkEvents(first, new Map(), s1), [])
    const up = [link('a', 'b', true)]
    const s2 = linkStates(up, s1)
    assert.deepEqual(
      linkEvents(up, s1, s2).map((e) => e.kind),
      ['link_up'],
    )
    const lossy = [link('a', 'b', true, 0.06)]
    const s3 = linkStates(lossy, s2)
    assert.deepEqual(
      linkEvents(lossy, s2, s3).map((e) => [e.kind, e.message]),
      [['link_lossy', 'link a→b is losing packets: 6% loss']],
    )
    // Hysteresis: 4 % is still lossy once lossy; below 2.5 % it is clean.
    const s4 = linkStates([link('a', 'b', true, 0.04)], s3)
    assert.equal(s4.get('a→b')?.lossy, true)
    const clean = [link('a', 'b', true, 0.01)]
    const s5 = linkStates(clean, s4)
    assert.deepEqual(
      linkEvents(clean, s4, s5).map((e) => e.kind),
      ['link_clean'],
    )
    const down = [{ ...link('a', 'b', false), stale: true }]
    const s6 = linkStates(down, s5)
    const events = linkEvents(down, s5, s6)
    assert.deepEqual(
      events.map((e) => [e.kind, e.message, e.link]),
      [['link_down', 'link a→b down: no fresh report', { from: 'a', to: 'b' }]],
    )
  })
})
