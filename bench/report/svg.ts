/** A hand-written bar chart per scenario: one panel per metric, one bar per candidate, min–max whiskers. */
import type { ScenarioResult } from '../results.ts'
import { type MetricSpec, UNTIMED_SCENARIOS } from '../scenarios/types.ts'
import { formatNumber } from '../stats.ts'
import { ARROW } from './markdown.ts'

const COLORS: Readonly<Record<string, string>> = {
  direct: '#9e9e9e',
  haproxy: '#1f77b4',
  'node-pipe': '#ff7f0e',
  'bun-pipe': '#d62728',
  dynproxy: '#2ca02c',
}
const PANEL_W = 250
const GAP = 20
const TOP = 56
const PLOT_H = 160
const TITLE_H = 22
const LABEL_H = 30
/** Room above the tallest whisker for its value label. */
const HEADROOM = 1.18
/** Wide enough for the subtitle when there is a single panel. */
const MIN_WIDTH = 560

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escapeXml(content)}</text>`
}

function panel(result: ScenarioResult, metric: MetricSpec, x0: number): string[] {
  const rows = result.candidates.map((c) => ({ candidate: c, s: result.summary[c]?.[metric.key] ?? null }))
  const top = Math.max(...rows.map((r) => r.s?.max ?? 0), Number.MIN_VALUE) * HEADROOM
  const baseY = TOP + TITLE_H + PLOT_H
  const slot = PANEL_W / Math.max(1, rows.length)
  const barW = slot * 0.6
  const y = (v: number): number => baseY - (v / top) * PLOT_H
  const out = [
    text(x0 + PANEL_W / 2, TOP + 14, `${metric.label}, ${metric.unit} ${ARROW[metric.better]}`, 'class="h"'),
    `<line x1="${x0}" y1="${baseY}" x2="${x0 + PANEL_W}" y2="${baseY}" class="axis"/>`,
  ]
  rows.forEach(({ candidate, s }, i) => {
    const cx = x0 + slot * i + slot / 2
    out.push(text(cx, baseY + 16, candidate, 'class="l"'))
    if (!s) {
      out.push(text(cx, baseY - 6, 'n/a', 'class="v"'))
      return
    }
    const color = COLORS[candidate] ?? '#555'
    out.push(
      `<rect x="${(cx - barW / 2).toFixed(1)}" y="${y(s.median).toFixed(1)}" width="${barW.toFixed(1)}" height="${(baseY - y(s.median)).toFixed(1)}" fill="${color}"/>`,
    )
    if (s.n > 1) {
      out.push(
        `<line x1="${cx}" y1="${y(s.min).toFixed(1)}" x2="${cx}" y2="${y(s.max).toFixed(1)}" class="w"/>`,
      )
    }
    out.push(text(cx, y(s.max) - 5, formatNumber(s.median), 'class="v"'))
  })
  return out
}

export function scenarioSvg(result: ScenarioResult): string {
  const width = Math.max(MIN_WIDTH, GAP + result.metrics.length * (PANEL_W + GAP))
  const height = TOP + TITLE_H + PLOT_H + LABEL_H
  const { rounds, durationS, quick } = result.settings
  const subtitle = `${result.date.slice(0, 10)} · ${quick ? 'quick, ' : ''}${rounds} round(s)${UNTIMED_SCENARIOS.includes(result.scenario) ? '' : ` of ${durationS} s`} · median, whisker = min–max · ${result.machine.cores} cores`
  const body = result.error
    ? [text(width / 2, TOP + 40, `not measured: ${result.error}`, 'class="h"')]
    : result.metrics.flatMap((m, i) => panel(result, m, GAP + i * (PANEL_W + GAP)))
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    '<style>.t{font-size:16px;font-weight:bold}.s{font-size:11px;fill:#555}.h{font-size:12px;text-anchor:middle;font-weight:bold}.l{font-size:11px;text-anchor:middle}.v{font-size:11px;text-anchor:middle}.axis{stroke:#333}.w{stroke:#000;stroke-width:1.5}</style>',
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    text(GAP, 22, result.title, 'class="t"'),
    text(GAP, 40, subtitle, 'class="s"'),
    ...body,
    '</svg>',
    '',
  ].join('\n')
}
