/** What the scheduler knows of a node, from evidence only (plan/knowledge.ts). */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type KnowledgeInputs,
  KnowledgeView,
  type NodeEvidence,
  nodeState,
} from '../../src/scheduler/plan/knowledge.ts'

const RULES = { graceMs: 10_000, unheardMs: 40_000, firstReportMs: 2000, staleAfterMs: 3000 }

const cases: [string, NodeEvidence, number, ReturnType<typeof nodeState>][] = [
  ['connected, no report yet', { connected: true, since: 1000 }, 2000, { state: 'unknown', until: 3000 }],
  [
    'connected, no report for two intervals: nothing to say',
    { connected: true, since: 1000 },
    3000,
    { state: 'known' },
  ],
  ['connected and reporting', { connected: true, since: 1000, reportedAt: 4000 }, 6000, { state: 'known' }],
  [
    'reports gone stale',
    { connected: true, since: 1000, reportedAt: 4000 },
    8000,
    { state: 'unknown', until: 17_000 },
  ],
  [
    'stale for longer than the grace time: what it said stands',
    { connected: true, since: 1000, reportedAt: 4000 },
    17_000,
    { state: 'known' },
  ],
  [
    'left within the grace time',
    { connected: false, since: 5000 },
    9000,
    { state: 'unknown', until: 15_000 },
  ],
  ['left longer ago than the grace time', { connected: false, since: 5000 }, 15_000, { state: 'gone' }],
  [
    'unheard from (its replica lost its lease) for longer than the grace time: not seen to leave',
    { connected: false, since: 5000, unheard: true },
    20_000,
    { state: 'unknown', until: 45_000 },
  ],
  [
    'unheard from for longer than the wait for unheard nodes',
    { connected: false, since: 5000, unheard: true },
    45_000,
    { state: 'gone' },
  ],
]

for (const [name, evidence, now, expected] of cases) {
  test(`node state: ${name}`, () => {
    assert.deepEqual(nodeState(evidence, now, RULES), expected)
  })
}

const EVIDENCE: Record<string, NodeEvidence> = {
  a: { connected: true, since: 0, reportedAt: 9500 },
  b: { connected: true, since: 9000 },
  c: { connected: false, since: 8000 },
}

function view(over: Partial<KnowledgeInputs> = {}): KnowledgeView {
  return new KnowledgeView({
    evidence: (id) => EVIDENCE[id],
    nodes: ['a', 'b', 'c'],
    reportedDown: (from, to) => `${from}>${to}` === 'a>b' || `${from}>${to}` === 'b>a',
    viewStart: 5000,
    storeReadable: true,
    now: 10_000,
    rules: RULES,
    ...over,
  })
}

test('knowledge: a node never heard of since the view began is unknown until the grace time has passed', () => {
  assert.equal(view().state('z'), 'unknown')
  assert.equal(view({ now: 15_000 }).state('z'), 'gone')
})

test('knowledge: a link is down only when a known reporter says so', () => {
  const k = view()
  assert.equal(k.linkDown('a', 'b'), true)
  assert.equal(k.linkDown('b', 'a'), false, 'b has not reported on this connection')
  assert.equal(k.linkDown('a', 'c'), false)
})

test('knowledge: complete once every node heard of is known or gone; `until` says when that changes by itself', () => {
  const k = view()
  assert.equal(k.complete(), false)
  assert.deepEqual([...k.unknownNodes()].sort(), ['b', 'c'])
  assert.equal(k.until, 11_000, 'b has two report intervals to report, c is gone at 18 000')
  const later: Record<string, NodeEvidence> = {
    ...EVIDENCE,
    a: { connected: true, since: 0, reportedAt: 17_500 },
  }
  assert.equal(view({ now: 18_000, evidence: (id) => later[id] }).complete(), true)
})

test('knowledge: with the store unreadable nothing is known and the view is never complete', () => {
  const k = view({ storeReadable: false, now: 60_000 })
  assert.equal(k.state('a'), 'unknown')
  assert.equal(k.linkDown('a', 'b'), false)
  assert.equal(k.complete(), false)
  assert.deepEqual([...k.unknownNodes()].sort(), ['a', 'b', 'c'])
})
