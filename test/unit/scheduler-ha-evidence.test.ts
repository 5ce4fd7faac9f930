/**
 * What the leader concludes about a node from the telemetry records replicas share
 * (ha/evidence.ts), and the rule's decision on it: a record that went with its replica's lease is
 * no evidence that the node left.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { normalizeService, validateService } from '../../src/scheduler/config/load.ts'
import { evidenceOnRecord, evidenceOnVanished } from '../../src/scheduler/ha/evidence.ts'
import type { TelemetryRecord } from '../../src/scheduler/ha/records.ts'
import { guardRoutes } from '../../src/scheduler/plan/guard.ts'
import { KnowledgeView, type NodeEvidence } from '../../src/scheduler/plan/knowledge.ts'
import type { PlannedRoute } from '../../src/scheduler/plan/planner.ts'

const RULES = { graceMs: 15_000, unheardMs: 60_000, firstReportMs: 1000, staleAfterMs: 1500 }

function record(over: Partial<TelemetryRecord> = {}): TelemetryRecord {
  return { replica: 'r1', region: 'eu', links: [], reported: true, connected: true, ...over }
}

const REPORTING: NodeEvidence = { connected: true, since: 50, reportedAt: 80 }
const LEFT: NodeEvidence = { connected: false, since: 70 }

const cases: [string, NodeEvidence, NodeEvidence][] = [
  [
    'a node joins and reports',
    evidenceOnRecord(undefined, record(), true, 100),
    { connected: true, since: 100, reportedAt: 100 },
  ],
  [
    'a report keeps when the connection began',
    evidenceOnRecord(REPORTING, record(), false, 100),
    { connected: true, since: 50, reportedAt: 100 },
  ],
  [
    'its replica saw it leave',
    evidenceOnRecord(REPORTING, record({ connected: false }), false, 100),
    { connected: false, since: 100 },
  ],
  [
    'a left record written again keeps when it left',
    evidenceOnRecord(LEFT, record({ connected: false }), true, 100),
    LEFT,
  ],
  [
    'its record vanished with its replica lease',
    evidenceOnVanished(REPORTING, 100),
    { connected: false, since: 100, unheard: true },
  ],
  ['the record of a node that left vanishes later: it stays left', evidenceOnVanished(LEFT, 100), LEFT],
]

for (const [name, actual, expected] of cases) {
  test(`evidence: ${name}`, () => {
    assert.deepEqual(actual, expected)
  })
}

const spec = (() => {
  const r = validateService({
    name: 'web',
    ingress: [{ node: 'a', listener: 'web' }],
    egress: ['c'],
    targets: ['127.0.0.1:9'],
  })
  assert.ok('value' in r)
  return normalizeService(r.value)
})()

function route(paths: string[][]): PlannedRoute {
  return {
    name: 'web',
    service: 'web',
    match: { listener: 'web' },
    paths: paths.map((nodes) => ({
      nodes,
      hops: nodes.slice(1),
      targets: [{ address: '127.0.0.1:9', weight: 1 }],
      weight: 1,
      cost: 1,
    })),
  }
}

/** What the leader knows of a, b and c from `evidence`; no link reported down. */
function knowledgeOf(evidence: Record<string, NodeEvidence>, now: number): KnowledgeView {
  return new KnowledgeView({
    evidence: (id) => evidence[id],
    nodes: ['a', 'b', 'c'],
    reportedDown: () => false,
    viewStart: 0,
    storeReadable: true,
    now,
    rules: RULES,
  })
}

/**
 * The decision behind a set that emptied a working route after the etcd leader was killed: both
 * replicas' leases lapsed, so the records of b and c vanished; 17 s later (past node_grace) the
 * new leader saw only a, planned no path, and counted b and c as gone.
 */
test('rule: nodes whose replica lost its lease past the grace time keep their paths', () => {
  const vanishedAt = 1000
  const now = vanishedAt + 17_000
  const evidence: Record<string, NodeEvidence> = {
    a: { connected: true, since: 0, reportedAt: now - 200 },
    b: evidenceOnVanished({ connected: true, since: 0, reportedAt: vanishedAt - 300 }, vanishedAt),
    c: evidenceOnVanished({ connected: true, since: 0, reportedAt: vanishedAt - 300 }, vanishedAt),
  }
  const k = knowledgeOf(evidence, now)
  const held = [
    route([
      ['a', 'b', 'c'],
      ['a', 'c'],
    ]),
  ]
  const guarded = guardRoutes('a', held, [route([])], k, new Map([['web', spec]]))
  assert.ok('send' in guarded)
  assert.deepEqual(
    guarded.send.map((r) => r.paths.map((p) => p.nodes.join('>'))),
    [['a>b>c', 'a>c']],
  )
  assert.deepEqual(guarded.kept, ['web'])
})

test('rule: a node its replica saw leave is gone after the grace time, and its paths go', () => {
  const now = 20_000
  const evidence: Record<string, NodeEvidence> = {
    a: { connected: true, since: 0, reportedAt: now - 200 },
    b: { connected: true, since: 0, reportedAt: now - 200 },
    c: evidenceOnRecord({ connected: true, since: 0 }, record({ connected: false }), false, 1000),
  }
  const k = knowledgeOf(evidence, now)
  const guarded = guardRoutes('a', [route([['a', 'b', 'c']])], [route([])], k, new Map([['web', spec]]))
  assert.ok('send' in guarded)
  assert.deepEqual(guarded.send[0]?.paths, [])
})
