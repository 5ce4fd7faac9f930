import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MAX_COLUMNS, scenarioMarkdown, summaryMarkdown } from '../report/markdown.ts'
import { escapeXml, scenarioSvg } from '../report/svg.ts'
import { type RoundRecord, type ScenarioResult, summarize } from '../results.ts'
import type { MetricSpec } from '../scenarios/types.ts'
import { machineFixture, settingsFixture } from './fixtures.ts'

const metrics: MetricSpec[] = [
  { key: 'rps', label: 'requests', unit: 'req/s', better: 'higher' },
  { key: 'cpu', label: 'proxy CPU', unit: 'µs/req', better: 'lower' },
]

const rounds: RoundRecord[] = [
  { round: 1, candidate: 'direct', values: { rps: 70000, cpu: null }, extra: {} },
  { round: 1, candidate: 'haproxy', values: { rps: 40000, cpu: 20 }, extra: {} },
  { round: 1, candidate: 'dynproxy', values: { rps: 30000, cpu: 30 }, extra: {} },
  { round: 2, candidate: 'direct', values: { rps: 72000, cpu: null }, extra: {} },
  { round: 2, candidate: 'haproxy', values: { rps: 50000, cpu: 22 }, extra: {} },
  { round: 2, candidate: 'dynproxy', error: 'dynproxy exited with code 1' },
  { round: 3, candidate: 'direct', values: { rps: 71000, cpu: null }, extra: {} },
  { round: 3, candidate: 'haproxy', values: { rps: 45000, cpu: 24 }, extra: {} },
  { round: 3, candidate: 'dynproxy', values: { rps: 36000, cpu: 33 }, extra: {} },
]

function result(overrides: Partial<ScenarioResult> = {}): ScenarioResult {
  const candidates = ['direct', 'haproxy', 'dynproxy'] as const
  return {
    scenario: 'keepalive',
    title: 'Keep-alive request/response',
    method: 'wrk → proxy → nginx',
    date: '2026-11-24T10:00:00.000Z',
    settings: settingsFixture,
    machine: machineFixture,
    metrics,
    candidates,
    skipped: [{ candidate: 'node-pipe', reason: 'not wanted' }],
    rounds,
    summary: summarize(rounds, candidates, metrics),
    notes: ['a note'],
    ...overrides,
  }
}

describe('summarize', () => {
  it('gives median, min, max and the ratio of medians to HAProxy, skipping failed rounds', () => {
    const summary = summarize(rounds, ['haproxy', 'dynproxy'], metrics)
    assert.deepEqual(summary.haproxy?.rps, { median: 45000, min: 40000, max: 50000, n: 3, ratioToHaproxy: 1 })
    assert.deepEqual(summary.dynproxy?.rps, {
      median: 33000,
      min: 30000,
      max: 36000,
      n: 2,
      ratioToHaproxy: 33000 / 45000,
    })
    assert.equal(summary.dynproxy?.cpu?.ratioToHaproxy, 31.5 / 22)
  })

  it('has null where no round produced the metric, and no ratio without HAProxy', () => {
    assert.equal(summarize(rounds, ['direct'], metrics).direct?.cpu, null)
    const withoutHaproxy = rounds.filter((r) => r.candidate !== 'haproxy')
    assert.equal(summarize(withoutHaproxy, ['dynproxy'], metrics).dynproxy?.rps?.ratioToHaproxy, null)
  })
})

describe('scenarioMarkdown', () => {
  const md = scenarioMarkdown(result())

  it('has one row per candidate with median (min–max) and the ratio, direction in the header', () => {
    assert.match(md, /\| candidate \| requests, req\/s ↑ \| proxy CPU, µs\/req ↓ \|/)
    assert.match(md, /\| haproxy \| 45,000 \(40,000–50,000\) \| 22\.0 \(20\.0–24\.0\) \|/)
    assert.match(
      md,
      /\| dynproxy \| 33,000 \(30,000–36,000\), 0\.73× HAProxy \| 31\.5 \(30\.0–33\.0\), 1\.43× HAProxy \|/,
    )
    assert.match(md, /\| direct \| 71,000 \(70,000–72,000\), 1\.58× HAProxy \| n\/a \|/)
  })

  it('turns the table for a single candidate with many metrics: one row per metric', () => {
    const many: MetricSpec[] = Array.from({ length: MAX_COLUMNS + 1 }, (_, i) => ({
      key: `m${i}`,
      label: `metric ${i}`,
      unit: 'ms',
      better: 'lower',
    }))
    const single: RoundRecord[] = [
      {
        round: 1,
        candidate: 'dynproxy',
        values: Object.fromEntries(many.map((m, i) => [m.key, i])),
        extra: {},
      },
    ]
    const turned = scenarioMarkdown(
      result({
        scenario: 'control-plane',
        metrics: many,
        candidates: ['dynproxy'],
        rounds: single,
        summary: summarize(single, ['dynproxy'], many),
      }),
    )
    assert.match(turned, /\| metric \| dynproxy \|\n\|---\|---:\|\n\| metric 0, ms ↓ \| 0\.00 \|/)
    assert.match(turned, /\| metric 8, ms ↓ \| 8\.00 \|/)
    assert.doesNotMatch(turned, /\| candidate/)
    const few = scenarioMarkdown(result({ candidates: ['dynproxy'] }))
    assert.match(few, /\| candidate \| requests/, 'few metrics: one row per candidate')
  })

  it('lists skipped candidates, failed rounds and notes', () => {
    assert.match(md, /- not run: node-pipe \(not wanted\)/)
    assert.match(md, /- dynproxy, round 2 failed: dynproxy exited with code 1/)
    assert.match(md, /- a note/)
    assert.match(md, /3 rounds of 5 s runs/)
  })

  it('says why a scenario was not measured instead of an empty table', () => {
    const skipped = scenarioMarkdown(
      result({ error: 'skipped: missing wrk (apt-get install wrk)', rounds: [] }),
    )
    assert.match(skipped, /_Not measured: skipped: missing wrk \(apt-get install wrk\)\._/)
    assert.doesNotMatch(skipped, /\| candidate/)
  })

  it('says no run length for scenarios whose rounds are not timed runs', () => {
    assert.doesNotMatch(scenarioMarkdown(result({ scenario: 'failover' })), / s runs/)
    assert.doesNotMatch(scenarioSvg(result({ scenario: 'control-plane' })), / of 5 s/)
    assert.match(scenarioSvg(result({ scenario: 'mesh' })), / of 5 s/)
  })

  it('puts the machine once on top of the summary', () => {
    const summary = summaryMarkdown([result(), result({ scenario: 'idle', title: 'Idle connections' })])
    assert.equal(summary.match(/Machine: 2 cores \(Test CPU\)/g)?.length, 1)
    assert.match(summary, /haproxy 2\.6\.12, nginx 1\.22\.1/)
    assert.match(summary, /### Keep-alive request\/response[\s\S]*### Idle connections/)
  })
})

describe('scenarioSvg', () => {
  it('draws a bar per measured candidate and metric, n/a for the rest, with min–max whiskers', () => {
    const svg = scenarioSvg(result())
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/)
    assert.equal(svg.match(/<rect x=/g)?.length, 5) // 3 rps bars + 2 cpu bars (direct has none)
    assert.equal(svg.match(/>n\/a</g)?.length, 1)
    assert.equal(svg.match(/class="w"\/>/g)?.length, 5)
    assert.match(svg, />33,000</)
    assert.ok(svg.trimEnd().endsWith('</svg>'))
  })

  it('scales the tallest whisker below the panel title', () => {
    const svg = scenarioSvg(result())
    const tops = [...svg.matchAll(/<rect x="[\d.]+" y="([\d.]+)"/g)].map((m) => Number(m[1]))
    assert.ok(Math.min(...tops) > 56 + 22, `bars start below the title: ${tops}`)
  })

  it('escapes text', () => {
    assert.equal(escapeXml(`a<b>&"'`), 'a&#60;b&#62;&#38;&#34;&#39;')
    assert.match(scenarioSvg(result({ title: 'x < y' })), /x &#60; y/)
  })
})
