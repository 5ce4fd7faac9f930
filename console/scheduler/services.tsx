/** Per service and ingress: the chosen path, the alternatives, why, and what routing buys over time. */
import { Chart } from '../shared/chart.tsx'
import { fmtBitRate, fmtMs, fmtPct, fmtSpan } from '../shared/format.ts'
import { DataTable } from '../shared/table.tsx'
import { gainSentence, pathText, SWITCH_TEXT, VERDICT_TEXT, type WhyView } from './model.ts'

export interface GainPoint {
  readonly at: string
  readonly chosen: number | null
  readonly direct: number | null
}

function ingressText(w: WhyView): string {
  const i = w.ingress
  return `${i.node}${i.listener !== undefined ? ` listener ${i.listener}` : i.port !== undefined ? ` port ${i.port}` : ''}`
}

function figure(
  w: WhyView,
  p: { rttMs: number; bottleneckBps: number; costPerGb: number; cost: number },
): string {
  if (w.objective === 'throughput') return fmtBitRate(p.bottleneckBps)
  if (w.objective === 'cost') return `${p.costPerGb.toFixed(3)}/GB`
  return `${fmtMs(p.rttMs)} rtt · ${fmtMs(p.cost)} expected`
}

function marginsText(w: WhyView): string {
  const m = w.margins
  const absolute =
    m.unit === 'ms'
      ? fmtMs(m.absolute)
      : m.unit === 'B/s'
        ? fmtBitRate(m.absolute)
        : `${m.absolute} ${m.unit}`
  return `a switch needs ≥ ${fmtPct(m.relative)} and ≥ ${absolute} better; kept at least ${fmtSpan(m.minDwellMs)}`
}

function chartFormat(w: WhyView): (v: number) => string {
  return w.yardstick.unit === 'ms' ? fmtMs : w.yardstick.unit === 'B/s' ? fmtBitRate : (v) => v.toFixed(3)
}

/** Every (service, ingress): sortable and filterable, so a mesh with hundreds of ingresses stays usable; a click shows one in full. */
export function SelectionTable(p: {
  readonly whys: readonly WhyView[]
  readonly focus: string | undefined
  readonly onSelect: (key: string) => void
}) {
  const saving = (w: WhyView) => {
    const { chosen, direct } = w.yardstick
    if (chosen === null || direct === null) return null
    return w.objective === 'throughput' ? chosen - direct : direct - chosen
  }
  return (
    <DataTable
      id="selections"
      rows={p.whys}
      rowKey={(w) => w.key}
      filterable
      limit={50}
      rowClass={(w) => (w.key === p.focus ? 'focused' : undefined)}
      columns={[
        {
          title: 'service',
          value: (w) => w.service,
          render: (w) => (
            <button type="button" class="link" onClick={() => p.onSelect(w.key)}>
              {w.service}
            </button>
          ),
        },
        { title: 'ingress', value: (w) => ingressText(w) },
        { title: 'path', value: (w) => pathText(w.chosen?.nodes) },
        {
          title: 'saves vs direct',
          value: saving,
          render: (w) => {
            const s = saving(w)
            return s === null ? '–' : chartFormat(w)(s)
          },
          numeric: true,
        },
      ]}
    />
  )
}

export function ServiceCard(p: { readonly why: WhyView; readonly gain: readonly GainPoint[] }) {
  const w = p.why
  const dwellLeft = w.margins.dwellLeftMs
  const data = [
    p.gain.map((g) => Date.parse(g.at) / 1000),
    p.gain.map((g) => g.chosen),
    p.gain.map((g) => g.direct),
  ]
  return (
    <section class="service-card selected" data-service={w.service} data-key={w.key}>
      <h3>
        {w.service}{' '}
        <span class="muted">
          from {ingressText(w)} · {w.objective}
        </span>
      </h3>
      <p class="chosen">
        path{' '}
        <strong class="chosen-path" data-path={w.chosen?.nodes.join(',') ?? ''}>
          {pathText(w.chosen?.nodes)}
        </strong>
        {w.chosen && <span class="muted"> · {figure(w, w.chosen)}</span>}
      </p>
      <p class="gain" data-direct={w.yardstick.direct ?? ''} data-chosen={w.yardstick.chosen ?? ''}>
        {gainSentence(w)}
      </p>
      <p class="muted">
        {marginsText(w)}
        {dwellLeft > 0 && ` · ${fmtSpan(dwellLeft)} of dwell left`}
      </p>
      <p class="muted last-switch">
        {w.lastSwitch
          ? `last switch ${new Date(w.lastSwitch.at).toLocaleTimeString('en-GB')}: ${pathText(w.lastSwitch.from)} → ${pathText(w.lastSwitch.to)} (${SWITCH_TEXT[w.lastSwitch.reason] ?? w.lastSwitch.reason})`
          : w.since
            ? `in use since ${new Date(w.since).toLocaleTimeString('en-GB')} (no switch seen by this scheduler)`
            : 'no path chosen'}
      </p>
      {w.alternatives.length > 0 && (
        <table class="alternatives">
          <thead>
            <tr>
              <th>alternative</th>
              <th class="num">figures</th>
              <th class="num">gain</th>
              <th>verdict</th>
            </tr>
          </thead>
          <tbody>
            {w.alternatives.map((a) => (
              <tr key={a.nodes.join('>')}>
                <td>{pathText(a.nodes)}</td>
                <td class="num">{figure(w, a)}</td>
                <td class="num">{fmtPct(a.gain.relative)}</td>
                <td class={`verdict ${a.verdict}`}>{VERDICT_TEXT[a.verdict]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {w.recentlyLeft.length > 0 && (
        <p class="muted">left recently (flap damping): {w.recentlyLeft.map((p) => pathText(p)).join('; ')}</p>
      )}
      <Chart
        title={`${w.yardstick.figure === 'rttMs' ? 'RTT' : w.yardstick.figure}: mesh vs direct`}
        series={[
          { label: 'mesh (chosen)', color: '#6b46c1' },
          { label: 'direct', color: '#9b2c2c', dash: [6, 4] },
        ]}
        data={data}
        format={chartFormat(w)}
      />
    </section>
  )
}
