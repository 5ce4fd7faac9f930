/** The rules a chaos run judges by: failed flows, convergence, versions, log rates, and the report. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { judgeConvergence, type Snapshot } from '../helpers/chaos/converge.ts'
import { sequenceFaults } from '../helpers/chaos/faults.ts'
import type { FaultRecord } from '../helpers/chaos/inject.ts'
import type { FlowRecord } from '../helpers/chaos/load.ts'
import {
  type AccessEntry,
  parseNodeLine,
  peakBytesPerMinute,
  VersionLedger,
  versionPair,
} from '../helpers/chaos/logs.ts'
import { type ChaosInput, percentile, renderReport, summarize } from '../helpers/chaos/report.ts'
import { Timeline } from '../helpers/chaos/timeline.ts'
import { chaosPaths } from '../helpers/chaos/topology.ts'
import { judgeEmptySet, judgeFlow, pairAccessLines, pathOfTarget } from '../helpers/chaos/verdict.ts'

function flow(over: Partial<FlowRecord> = {}): FlowRecord {
  return {
    kind: 'probe',
    id: 1,
    startMs: 10_000,
    endMs: 10_050,
    localPort: 40_000,
    plannedBytes: 100,
    sent: 100,
    received: 0,
    corruptBytes: 0,
    outcome: 'failed',
    error: 'ECONNRESET',
    ...over,
  }
}

function entry(over: Partial<AccessEntry> = {}): AccessEntry {
  return {
    sourcePort: 40_000,
    atWallMs: 10_060,
    target: 'b → c → 127.0.0.1:9000',
    reason: 'upstream_reset',
    error: undefined,
    ...over,
  }
}

const ctx = (timeline: Timeline) => ({ timeline, ingress: 'a', paths: chaosPaths(), settleMs: 6000 })

describe('judging a failed flow', () => {
  it('passes an ok flow, and never excuses corrupt bytes', () => {
    const t = new Timeline()
    assert.deepEqual(judgeFlow(flow({ outcome: 'ok' }), entry(), ctx(t)), { kind: 'ok' })
    t.breakAt('node:b', 10_010, 'relay_kill')
    const verdict = judgeFlow(flow({ outcome: 'corrupt', corruptBytes: 3 }), entry(), ctx(t))
    assert.equal(verdict.kind, 'violation')
    assert.match((verdict as { why: string }).why, /^3 corrupt bytes/)
  })

  it('excuses a flow whose own path broke while it ran', () => {
    const t = new Timeline()
    t.breakAt('node:b', 10_020, 'relay_kill')(10_500)
    const verdict = judgeFlow(flow(), entry(), ctx(t))
    assert.deepEqual(verdict, { kind: 'excused', why: 'its path broke: node:b (relay_kill)' })
    const link = new Timeline()
    link.breakAt('link:b>c', 9_000, 'link_blackhole(b>c)')
    assert.equal(judgeFlow(flow(), entry(), ctx(link)).kind, 'excused')
  })

  it('does not excuse a flow for a fault on another path, or one over before it started', () => {
    const t = new Timeline()
    t.breakAt('node:d', 10_020, 'egress_kill(d)')
    t.breakAt('node:b', 1_000, 'relay_kill')(9_000)
    const verdict = judgeFlow(flow(), entry(), ctx(t))
    assert.equal(verdict.kind, 'violation')
    assert.match(
      (verdict as { why: string }).why,
      /probe 1 ECONNRESET, ingress: upstream_reset; its path a>b>c held/,
    )
  })

  it('excuses a refused flow only when no path of the mesh worked from settleMs before it to its end', () => {
    const refused = entry({ target: undefined, reason: 'no_route' })
    const t = new Timeline()
    t.breakAt('node:b', 0, 'relay_kill')
    t.breakAt('node:c', 2_000, 'egress_kill(c)')(3_000)
    const violation = judgeFlow(flow(), refused, ctx(t))
    assert.equal(violation.kind, 'violation')
    assert.match((violation as { why: string }).why, /ingress: no_route; a>c worked throughout/)
    t.breakAt('link:a>c', 4_500, 'link_blackhole(a>c)')(4_600)
    const still = judgeFlow(flow(), refused, ctx(t))
    assert.match(
      (still as { why: string }).why,
      /a>d worked throughout/,
      'a>c was cut within settleMs before',
    )
    t.breakAt('node:d', 8_000, 'pause(egress d)')(8_500)
    const excused = judgeFlow(flow(), refused, ctx(t))
    assert.equal(excused.kind, 'excused')
    assert.match((excused as { why: string }).why, /^no working path: probe 1/)
  })

  it('judges a flow the ingress never logged as refused', () => {
    const verdict = judgeFlow(flow(), undefined, ctx(new Timeline()))
    assert.equal(verdict.kind, 'violation')
    assert.match((verdict as { why: string }).why, /no access-log line/)
  })

  it('finds the path that worked when the ingress was sent a set with no route', () => {
    const t = new Timeline()
    assert.deepEqual(judgeEmptySet('5.1', 20_000, ctx(t)), { version: '5.1', atMs: 20_000, working: 'a>b>c' })
    t.breakAt('node:c', 1_000, 'egress_kill(c)')
    t.breakAt('node:d', 15_000, 'egress_kill(d)')(16_000)
    assert.equal(
      judgeEmptySet('5.2', 20_000, ctx(t)).working,
      undefined,
      'no egress had been up for settleMs',
    )
    assert.equal(judgeEmptySet('5.3', 30_000, ctx(t)).working, 'a>b>d')
  })

  it('reads the path from the access log target', () => {
    assert.deepEqual(pathOfTarget('a', 'b → c → 127.0.0.1:9000'), ['a', 'b', 'c'])
    assert.deepEqual(pathOfTarget('a', 'd → 127.0.0.1:9000'), ['a', 'd'])
    assert.equal(pathOfTarget('a', '127.0.0.1:9000'), undefined)
    assert.equal(pathOfTarget('a', undefined), undefined)
  })

  it('pairs flows with access-log lines by port, in order, never with a line older than the flow', () => {
    const first = flow({ id: 1, startMs: 100, endMs: 200 })
    const second = flow({ id: 2, startMs: 1000, endMs: 1100 })
    const other = flow({ id: 3, startMs: 100, endMs: 150, localPort: 40_001 })
    const lines = [
      entry({ atWallMs: 5_000 + 1_100, reason: 'second' }),
      entry({ atWallMs: 5_000 + 200, reason: 'first' }),
      entry({ atWallMs: 5_000 + 10, sourcePort: 40_001, reason: 'stale' }),
    ]
    const paired = pairAccessLines([second, first, other], lines, 5_000)
    assert.equal(paired.get(first)?.reason, 'first')
    assert.equal(paired.get(second)?.reason, 'second')
    assert.equal(paired.has(other), false)
  })
})

describe('the timeline', () => {
  it('keeps overlapping outages of one component apart', () => {
    const t = new Timeline()
    const healKill = t.breakAt('node:b', 100, 'kill')
    const healPause = t.breakAt('node:b', 150, 'pause')
    healPause(200)
    assert.deepEqual(
      t.outagesDuring('node:b', 300, 400),
      ['kill'],
      'the kill still holds after the pause ends',
    )
    healKill(500)
    assert.deepEqual(t.outagesDuring('node:b', 501, 900), [])
    assert.deepEqual(t.outagesDuring('node:b', 0, 120), ['kill'])
    assert.deepEqual(t.outagesDuring('node:c', 0, 1000), [])
  })
})

const settledSnapshot = (): Snapshot => ({
  replicas: [
    {
      id: 's1',
      status: { leader: true },
      nodes: [
        { id: 'a', connected: true, synced: true, appliedVersion: '3.4' },
        { id: 'b', connected: true, replica: 's2' } as never,
      ],
    },
    {
      id: 's2',
      status: { leader: false },
      nodes: [
        { id: 'a', connected: true },
        { id: 'b', connected: true, synced: true, appliedVersion: '3.2' },
      ],
    },
  ],
  nodes: [
    {
      id: 'a',
      scheduler: { state: 'connected', appliedVersion: '3.4', fresh: true },
      peers: [
        { name: 'b', state: 'up' },
        { name: 'c', state: 'down' },
      ],
      routes: [
        { service: 'probe', paths: [1] },
        { service: 'stream', paths: [1, 2] },
      ],
    },
    { id: 'b', scheduler: { state: 'connected', appliedVersion: '3.2', fresh: true }, peers: [] },
  ],
})

describe('convergence', () => {
  const judge = (s: Snapshot) => judgeConvergence(s, 'a', ['probe', 'stream'])

  it('holds when one replica leads and each node applied what its replica sent', () => {
    assert.deepEqual(judge(settledSnapshot()), { converged: true })
  })

  const cases: [string, (s: Snapshot) => Snapshot, RegExp][] = [
    [
      'two leaders',
      (s) => ({ ...s, replicas: s.replicas.map((r) => ({ ...r, status: { leader: true } })) }),
      /2 replicas lead/,
    ],
    [
      'a silent replica',
      (s) => ({ ...s, replicas: [{ ...s.replicas[0]!, status: undefined }, s.replicas[1]!] }),
      /replica s1 did not answer/,
    ],
    [
      'a node behind its replica',
      (s) => ({
        ...s,
        nodes: [
          { ...s.nodes[0]!, scheduler: { state: 'connected', appliedVersion: '3.3', fresh: true } },
          s.nodes[1]!,
        ],
      }),
      /node a: applied 3.3, replica s1 shows 3.4/,
    ],
    [
      'a node reconnecting',
      (s) => ({
        ...s,
        nodes: [s.nodes[0]!, { id: 'b', scheduler: { state: 'connecting', fresh: false }, peers: [] }],
      }),
      /node b: scheduler link connecting/,
    ],
    [
      'a node no replica serves',
      (s) => ({ ...s, replicas: [s.replicas[0]!, { ...s.replicas[1]!, nodes: [] }] }),
      /node b: served by 0 replicas/,
    ],
    [
      'an ingress without a path for a service',
      (s) => ({
        ...s,
        nodes: [
          {
            ...s.nodes[0]!,
            routes: [
              { service: 'probe', paths: [1] },
              { service: 'stream', paths: [] },
            ],
          },
          s.nodes[1]!,
        ],
      }),
      /ingress a has no path for stream/,
    ],
  ]
  cases.push(
    [
      'a running peer not seen up (the data path not back yet)',
      (s) => ({ ...s, nodes: [{ ...s.nodes[0]!, peers: [{ name: 'b', state: 'unknown' }] }, s.nodes[1]!] }),
      /node a: peer b is unknown/,
    ],
    [
      'a node that did not list its peers',
      (s) => ({ ...s, nodes: [s.nodes[0]!, { ...s.nodes[1]!, peers: undefined }] }),
      /node b: did not list its peers/,
    ],
  )
  for (const [name, change, why] of cases) {
    it(`does not hold with ${name}`, () => {
      const verdict = judge(change(settledSnapshot()))
      assert.equal(verdict.converged, false)
      assert.match((verdict as { why: string }).why, why)
    })
  }
})

describe('node log lines', () => {
  it('reads access lines and applied or cached sets, and ignores the rest', () => {
    const access = parseNodeLine(
      '{"level":"info","time":"2026-12-07T10:00:00.000Z","log":"access","msg":"flow closed","source":"127.0.0.1:51234","target":"b → c → 127.0.0.1:9","reason":"upstream_reset"}',
    )
    assert.deepEqual(access, {
      type: 'access',
      sourcePort: 51234,
      atWallMs: Date.parse('2026-12-07T10:00:00.000Z'),
      target: 'b → c → 127.0.0.1:9',
      reason: 'upstream_reset',
      error: undefined,
    })
    const applied = parseNodeLine(
      '{"time":"2026-12-07T10:00:00.000Z","msg":"instructions applied","version":"3.4","routes":2}',
    )
    assert.equal(applied?.type, 'applied')
    const cached = parseNodeLine(
      '{"time":"2026-12-07T10:00:00.000Z","msg":"cached instructions loaded (stale until a scheduler confirms them)","version":"3.4","routes":2}',
    )
    assert.equal(cached?.type, 'cached')
    assert.equal(parseNodeLine('{"time":"2026-12-07T10:00:00.000Z","msg":"node listening"}'), undefined)
    assert.equal(parseNodeLine('not json {'), undefined)
    assert.equal(parseNodeLine('{"msg":"flow closed"'), undefined)
  })

  it('finds versions that go back; the one in force again (reloaded, re-sent) is fine', () => {
    const ledger = new VersionLedger('a')
    const at = (type: 'applied' | 'cached', version: string, routes = 2) =>
      ({ type, version, routes, atWallMs: 0 }) as const
    ledger.record('a', at('applied', '2.9'))
    ledger.record('a', at('applied', '3.1'))
    ledger.record('a', at('cached', '3.1'))
    ledger.record('a', at('applied', '3.2', 0))
    ledger.record('b', at('applied', '1.5'))
    assert.deepEqual(ledger.regressions, [])
    assert.deepEqual(ledger.emptyIngressSets, [{ version: '3.2', atWallMs: 0 }])
    ledger.record('a', at('applied', '3.2'))
    assert.deepEqual(
      ledger.regressions,
      [],
      'the set in force sent again (a failover) is confirmed, not a step back',
    )
    ledger.record('a', at('applied', '3.1'))
    ledger.record('b', at('cached', '1.4'))
    ledger.record('b', at('applied', 'x'))
    assert.deepEqual(ledger.regressions, [
      'a: applied 3.1 after 3.2',
      'b: cached 1.4 after 1.5',
      'b: unreadable version x',
    ])
    assert.deepEqual(versionPair('12.345'), [12, 345])
  })

  it('measures the peak log rate over a minute, and scales a shorter run', () => {
    const steady = Array.from({ length: 25 }, (_, i) => [i * 5000, i * 1000] as const)
    assert.equal(Math.round(peakBytesPerMinute(steady)), 12_000)
    const burst = [...steady.slice(0, 13), ...steady.slice(13).map(([t, b]) => [t, b + 50_000] as const)]
    assert.ok(peakBytesPerMinute(burst) >= 62_000)
    assert.equal(
      peakBytesPerMinute([
        [0, 0],
        [20_000, 1000],
      ]),
      3000,
    )
    assert.equal(peakBytesPerMinute([[0, 0]]), 0)
  })
})

describe('the report', () => {
  const [kill, loss] = sequenceFaults(['relay_kill', 'link_loss'], 1)
  const faults: FaultRecord[] = [
    { plan: kill!, label: 'relay_kill', target: 'b', startMs: 1000, recoveredMs: 2000, convergenceMs: 1500 },
    {
      plan: loss!,
      label: 'link_loss',
      target: 'a>b',
      startMs: 6000,
      recoveredMs: 8000,
      convergenceMs: undefined,
      problem: 'not settled: node a: scheduler link connecting',
    },
  ]
  const input: ChaosInput = {
    seed: 7,
    faultPhaseMs: 60_000,
    phaseStartMs: 500,
    faults,
    flows: [
      {
        flow: flow({ startMs: 1500, endMs: 1600 }),
        verdict: { kind: 'excused', why: 'its path broke: node:b (relay_kill)' },
      },
      { flow: flow({ startMs: 7000, endMs: 7100 }), verdict: { kind: 'violation', why: 'probe 1 no_route' } },
      {
        flow: flow({ kind: 'long', startMs: 20_000, endMs: 25_000, outcome: 'ok', received: 4096 }),
        verdict: { kind: 'ok' },
      },
    ],
    convergeBoundMs: 10_000,
    final: { convergenceMs: 300 },
    versionRegressions: [],
    emptyIngressSets: [{ version: '3.1', atMs: 9000, working: undefined }],
    processes: [{ name: 'node a', peakLogBytesPerMinute: 300 * 1024, cpuSeconds: 2 }],
    logBudgetBytesPerMinute: 256 * 1024,
    harnessCpuSeconds: 1,
  }

  it('counts per kind the flows started during each fault, failures and convergence', () => {
    const s = summarize(input)
    assert.deepEqual(
      s.rows.map((r) => [r.kind, r.injected, r.probes, r.failed, r.excused, r.convergedMaxMs, r.unsettled]),
      [
        ['relay_kill', 1, 1, 0, 1, 1500, 0],
        ['link_loss', 1, 1, 1, 0, undefined, 1],
      ],
    )
    assert.equal(s.probes, 2)
    assert.equal(s.longFlows, 1)
    assert.equal(s.bytesChecked, 4096)
  })

  it('fails the run for a failed flow, an unsettled fault or a log over budget, and says which', () => {
    const s = summarize(input)
    assert.deepEqual(s.problems, [
      '1 flows failed although a working path existed',
      'link_loss on a>b: not settled: node a: scheduler link connecting',
      'node a logged 300.0 KiB/min (budget 256.0)',
    ])
    const text = renderReport(s)
    assert.match(text, /seed 7, faults for 1\.0 min — FAILED/)
    assert.match(text, /\| relay_kill \| 1 \| 1 \| 0 \| 0 \| 1 \| 0 \| 1\.50 s \| 1\.50 s \| 0 \|/)
    assert.match(text, /- at 6\.50 s: probe 1 no_route — during link_loss/)
    assert.match(text, /sets with no route sent to the ingress: 1 \(3\.1\)/)
  })

  it('fails the run for an empty set sent to the ingress while a path worked', () => {
    const s = summarize({ ...input, emptyIngressSets: [{ version: '5.1', atMs: 43_200, working: 'a>b>c' }] })
    assert.ok(s.problems.includes('the ingress was sent set 5.1 with no route at 42.70 s while a>b>c worked'))
  })

  it('passes a run where every invariant held', () => {
    const clean = summarize({
      ...input,
      faults: [faults[0]!],
      flows: [input.flows[0]!, input.flows[2]!],
      processes: [{ name: 'node a', peakLogBytesPerMinute: 1024, cpuSeconds: 2 }],
    })
    assert.deepEqual(clean.problems, [])
    assert.match(renderReport(clean), /PASSED/)
    assert.equal(percentile([5, 1, 3, 2, 4], 50), 3)
    assert.equal(percentile([], 50), undefined)
  })
})
