/**
 * The node console: rates and the last hour (bytes/s, new flows/s, active flows) for the node,
 * each listener and route; endpoints with their health; rejections by reason; peers with RTT and
 * loss; open flows to sort and filter; the effective config; drain and undrain. It reads the
 * node's admin API every few seconds.
 */
import { render } from 'preact'
import { useCallback, useEffect, useState } from 'preact/hooks'
import { change, getJson, takeTokenFromFragment } from '../shared/api.ts'
import { Chart, Sparkline } from '../shared/chart.tsx'
import {
  fmtAgo,
  fmtBitRate,
  fmtByteRate,
  fmtBytes,
  fmtCount,
  fmtMs,
  fmtPct,
  fmtSpan,
} from '../shared/format.ts'
import { DataTable } from '../shared/table.tsx'
import { TokenBar } from '../shared/token-bar.tsx'
import '../shared/style.css'
import {
  column,
  downtimeMs,
  endpointLook,
  type History,
  latest,
  REJECT_REASON_TEXT,
  type RejectionRow,
  rejectionRows,
  schedulerLink,
  seriesOf,
} from './model.ts'

// The shapes below are the admin API's (docs/admin-api.md); only what the page reads.
interface Stats {
  readonly node: {
    readonly id: string
    readonly region: string
    readonly version: string
    readonly state: string
    readonly uptimeSeconds: number
  }
  readonly connections: {
    readonly active: number
    readonly total: number
    readonly rejected: number
    readonly failed: number
  }
  readonly traffic: { readonly bytesIn: number; readonly bytesOut: number }
  readonly scheduler?: {
    readonly state: string
    readonly address?: string
    readonly appliedVersion?: string
    readonly fresh: boolean
    readonly consoleUrl?: string
    readonly lastNack?: { readonly version: string; readonly error: string; readonly at: string }
  }
}
interface Listener {
  readonly name: string
  readonly bind: string
  readonly kinds: readonly string[]
  readonly state: string
  readonly maxConnections: number
  readonly activeConnections: number
  readonly totalConnections: number
  readonly rejected: Readonly<Record<string, number>>
}
interface Endpoint {
  readonly address: string
  readonly weight: number
  readonly health: 'healthy' | 'unhealthy' | 'unchecked'
  readonly ejected: boolean
  readonly ejectedUntil?: string
  readonly ejections: number
  readonly lastCheck?: { readonly at: string; readonly ok: boolean }
  readonly unhealthySince?: string
  readonly activeConnections: number
  readonly connectFailures: number
}
interface Route {
  readonly name: string
  readonly target: string
  readonly matches: Readonly<Record<string, number>>
  readonly failedFlows: number
  readonly endpoints: readonly Endpoint[]
  readonly paths: readonly {
    readonly path: string
    readonly firstHop?: string
    readonly firstHopState?: string
  }[]
}
interface Peer {
  readonly name: string
  readonly address: string
  readonly region?: string
  readonly state: string
  readonly rttMs?: number
  readonly loss?: number
  readonly activeFlows: number
  readonly throughputBps?: number
}
interface Flow {
  readonly id: string
  readonly listener: string
  readonly source: string
  readonly route?: string
  readonly target?: string
  readonly state: string
  readonly durationMs: number
  readonly bytesIn: number
  readonly bytesOut: number
  readonly sni?: string
}

interface View {
  readonly stats: Stats
  readonly listeners: readonly Listener[]
  readonly routes: readonly Route[]
  readonly peers: readonly Peer[]
  readonly flows: { readonly total: number; readonly flows: readonly Flow[] }
}

const REFRESH_MS = 2000
const HISTORY_REFRESH_MS = 5000
const FLOW_LIMIT = 500

async function readView(): Promise<View> {
  const [stats, listeners, routes, peers, flows] = await Promise.all([
    getJson<Stats>('/stats'),
    getJson<{ listeners: Listener[] }>('/listeners'),
    getJson<{ routes: Route[] }>('/routes'),
    getJson<{ peers: Peer[] }>('/peers'),
    getJson<View['flows']>(`/flows?limit=${FLOW_LIMIT}`),
  ])
  return { stats, listeners: listeners.listeners, routes: routes.routes, peers: peers.peers, flows }
}

function NodeCharts(p: { readonly history: History | null; readonly nodeId: string }) {
  const s = seriesOf(p.history, 'node', p.nodeId) ?? p.history?.series.find((x) => x.kind === 'node')
  const [t, inRate] = column(s, 'bytesIn')
  const [, outRate] = column(s, 'bytesOut')
  const [, flows] = column(s, 'flows')
  const [, active] = column(s, 'activeFlows')
  const [, rejected] = column(s, 'rejected')
  return (
    <div class="charts" id="node-charts">
      <Chart
        title="bytes/s"
        series={[
          { label: 'in', color: '#3182ce' },
          { label: 'out', color: '#38a169' },
        ]}
        data={[t, inRate, outRate]}
        format={fmtByteRate}
      />
      <Chart
        title="new flows/s"
        series={[
          { label: 'accepted', color: '#6b46c1' },
          { label: 'rejected', color: '#e53e3e' },
        ]}
        data={[t, flows, rejected]}
        format={(v) => fmtCount(v)}
      />
      <Chart
        title="active flows"
        series={[{ label: 'active', color: '#dd6b20' }]}
        data={[t, active]}
        format={(v) => fmtCount(v)}
      />
    </div>
  )
}

function App() {
  const [view, setView] = useState<View | null>(null)
  const [history, setHistory] = useState<History | null>(null)
  const [config, setConfig] = useState<unknown>(null)
  const [error, setError] = useState('')
  const [message, setMessage] = useState('')
  const [nowMs, setNowMs] = useState(Date.now())
  const [busy, setBusy] = useState(false)

  const refresh = useCallback(async () => {
    try {
      setView(await readView())
      setNowMs(Date.now())
      setError('')
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err))
    }
  }, [])
  const refreshHistory = useCallback(async () => {
    try {
      setHistory(await getJson<History>('/history?window=15m&points=180'))
    } catch {
      // The tables say what is wrong; the charts keep their last data.
    }
  }, [])
  useEffect(() => {
    void refresh()
    void refreshHistory()
    const a = window.setInterval(() => void refresh(), REFRESH_MS)
    const b = window.setInterval(() => void refreshHistory(), HISTORY_REFRESH_MS)
    return () => {
      window.clearInterval(a)
      window.clearInterval(b)
    }
  }, [])

  const act = async (path: '/drain' | '/undrain') => {
    setBusy(true)
    try {
      const answer = await change<{ status: string }>('POST', path)
      setMessage(`${path.slice(1)}: node is ${answer?.status ?? 'asked'}`)
    } catch (err) {
      setMessage(`${path.slice(1)} failed: ${err instanceof Error ? err.message : String(err)}`)
    } finally {
      setBusy(false)
      void refresh()
    }
  }

  const stats = view?.stats
  const id = stats?.node.id ?? ''
  const back = schedulerLink(stats?.scheduler?.consoleUrl, id)
  const draining = stats?.node.state === 'draining'
  const rejections = rejectionRows(view?.listeners ?? [])
  return (
    <>
      <header>
        <h1>dynproxy node {id}</h1>
        {stats && (
          <span class="summary" id="status">
            {stats.node.region} · v{stats.node.version} · up {fmtSpan(stats.node.uptimeSeconds * 1000)} ·{' '}
            <span
              id="node-state"
              class={`state ${draining ? 'draining' : stats.node.state === 'running' ? 'up' : 'down'}`}
            >
              {stats.node.state}
            </span>
          </span>
        )}
        {back && (
          <a id="scheduler-link" href={back}>
            this node in the scheduler console
          </a>
        )}
        <button type="button" id="drain" disabled={busy || draining} onClick={() => void act('/drain')}>
          drain
        </button>
        <button type="button" id="undrain" disabled={busy || !draining} onClick={() => void act('/undrain')}>
          undrain
        </button>
        <TokenBar onChange={() => void refresh()} />
      </header>
      {(error || message) && (
        <p class="banner" id="message">
          {error || message}
        </p>
      )}
      <main class="node">
        <section class="panel wide">
          <h2>
            Traffic{' '}
            {stats && (
              <span class="muted">
                {fmtCount(stats.connections.active)} active · {fmtCount(stats.connections.total)} accepted ·{' '}
                {fmtCount(stats.connections.rejected)} rejected · {fmtCount(stats.connections.failed)} failed
                · {fmtBytes(stats.traffic.bytesIn)} in · {fmtBytes(stats.traffic.bytesOut)} out
              </span>
            )}
          </h2>
          <NodeCharts history={history} nodeId={id} />
        </section>
        <section class="panel">
          <h2>Listeners</h2>
          <DataTable
            id="listeners"
            rows={view?.listeners ?? []}
            rowKey={(l) => l.name}
            rowClass={(l) => (l.state === 'listening' ? undefined : 'draining')}
            columns={[
              { title: 'listener', value: (l) => l.name },
              { title: 'bind', value: (l) => l.bind },
              {
                title: 'kind',
                value: (l) => l.kinds.join(' '),
                render: (l) => (
                  <span class="kinds">
                    {l.kinds.map((k) => (
                      <span key={k}>{k}</span>
                    ))}
                  </span>
                ),
              },
              { title: 'state', value: (l) => l.state },
              {
                title: 'active',
                value: (l) => l.activeConnections,
                render: (l) => `${l.activeConnections} / ${l.maxConnections}`,
                numeric: true,
              },
              {
                title: 'flows/s',
                value: (l) => latest(seriesOf(history, 'listener', l.name), 'flows'),
                render: (l) => fmtCount(latest(seriesOf(history, 'listener', l.name), 'flows')),
                numeric: true,
              },
              {
                title: 'in/s',
                value: (l) => latest(seriesOf(history, 'listener', l.name), 'bytesIn'),
                render: (l) => fmtByteRate(latest(seriesOf(history, 'listener', l.name), 'bytesIn')),
                numeric: true,
              },
              {
                title: 'out/s',
                value: (l) => latest(seriesOf(history, 'listener', l.name), 'bytesOut'),
                render: (l) => fmtByteRate(latest(seriesOf(history, 'listener', l.name), 'bytesOut')),
                numeric: true,
              },
              {
                title: 'last 15 min',
                value: () => null,
                render: (l) => (
                  <Sparkline values={column(seriesOf(history, 'listener', l.name), 'bytesIn')[1]} />
                ),
              },
            ]}
          />
        </section>
        <section class="panel">
          <h2>Rejections by reason</h2>
          <DataTable<RejectionRow>
            id="rejections"
            rows={rejections}
            rowKey={(r) => `${r.listener}|${r.reason}`}
            empty="no connection was rejected"
            initialSort={{ column: 2, direction: 'desc' }}
            columns={[
              { title: 'listener', value: (r) => r.listener },
              {
                title: 'reason',
                value: (r) => r.reason,
                render: (r) => `${r.reason}: ${REJECT_REASON_TEXT[r.reason] ?? ''}`,
              },
              { title: 'count', value: (r) => r.count, numeric: true },
            ]}
          />
        </section>
        <section class="panel wide">
          <h2>Routes and endpoints</h2>
          <DataTable
            id="routes"
            rows={view?.routes ?? []}
            rowKey={(r) => r.name}
            filterable
            columns={[
              { title: 'route', value: (r) => r.name },
              { title: 'target', value: (r) => r.target },
              {
                title: 'flows',
                value: (r) => Object.values(r.matches).reduce((a, b) => a + b, 0),
                numeric: true,
              },
              {
                title: 'flows/s',
                value: (r) => latest(seriesOf(history, 'route', r.name), 'flows'),
                render: (r) => fmtCount(latest(seriesOf(history, 'route', r.name), 'flows')),
                numeric: true,
              },
              { title: 'failed', value: (r) => r.failedFlows, numeric: true },
              {
                title: 'last 15 min',
                value: () => null,
                render: (r) => (
                  <Sparkline
                    values={column(seriesOf(history, 'route', r.name), 'flows')[1]}
                    color="#6b46c1"
                  />
                ),
              },
              {
                title: 'endpoints / paths',
                value: (r) =>
                  r.endpoints.map((e) => e.address).join(' ') + r.paths.map((p) => p.path).join(' '),
                render: (r) => (
                  <ul class="endpoints">
                    {r.endpoints.map((e) => {
                      const look = endpointLook(e)
                      const down = downtimeMs(e, nowMs)
                      return (
                        <li key={e.address} data-health={look}>
                          <i class={`health ${look}`} title={look} />
                          {e.address} <span class="muted">{look}</span>
                          {e.lastCheck && (
                            <span class="muted">
                              {' '}
                              · last check {e.lastCheck.ok ? 'ok' : 'failed'} {fmtAgo(e.lastCheck.at, nowMs)}
                            </span>
                          )}
                          {down !== null && <span class="problem"> · down for {fmtSpan(down)}</span>}
                          {e.ejections > 0 && (
                            <span class="muted">
                              {' '}
                              · ejected {e.ejections}×
                              {e.ejected && e.ejectedUntil
                                ? ` (until ${new Date(e.ejectedUntil).toLocaleTimeString('en-GB')})`
                                : ''}
                            </span>
                          )}
                          {e.connectFailures > 0 && (
                            <span class="muted"> · {e.connectFailures} connect failures</span>
                          )}
                        </li>
                      )
                    })}
                    {r.paths.map((p) => (
                      <li key={p.path}>
                        <i
                          class={`health ${p.firstHopState === 'up' ? 'healthy' : p.firstHopState === 'down' ? 'unhealthy' : 'unchecked'}`}
                        />
                        {p.path}
                      </li>
                    ))}
                  </ul>
                ),
              },
            ]}
          />
        </section>
        <section class="panel">
          <h2>Peers</h2>
          <DataTable
            id="peers"
            rows={view?.peers ?? []}
            rowKey={(p) => p.name}
            rowClass={(p) => (p.state === 'down' ? 'down' : undefined)}
            columns={[
              { title: 'peer', value: (p) => p.name },
              { title: 'region', value: (p) => p.region ?? '' },
              { title: 'state', value: (p) => p.state },
              { title: 'rtt', value: (p) => p.rttMs ?? null, render: (p) => fmtMs(p.rttMs), numeric: true },
              {
                title: 'rtt, 15 min',
                value: () => null,
                render: (p) => <Sparkline values={column(seriesOf(history, 'peer', p.name), 'rttMs')[1]} />,
              },
              { title: 'loss', value: (p) => p.loss ?? null, render: (p) => fmtPct(p.loss), numeric: true },
              {
                title: 'loss, 15 min',
                value: () => null,
                render: (p) => (
                  <Sparkline values={column(seriesOf(history, 'peer', p.name), 'loss')[1]} color="#e53e3e" />
                ),
              },
              {
                title: 'capacity',
                value: (p) => p.throughputBps ?? null,
                render: (p) => fmtBitRate(p.throughputBps),
                numeric: true,
              },
              { title: 'flows', value: (p) => p.activeFlows, numeric: true },
            ]}
          />
        </section>
        <section class="panel">
          <h2>Scheduler</h2>
          {stats?.scheduler ? (
            <p id="scheduler">
              {stats.scheduler.state} {stats.scheduler.address && `to ${stats.scheduler.address}`} · set{' '}
              {stats.scheduler.appliedVersion ?? 'none'} · {stats.scheduler.fresh ? 'fresh' : 'stale'}
              {stats.scheduler.lastNack && (
                <span class="problem">
                  {' '}
                  · last refused set {stats.scheduler.lastNack.version}: {stats.scheduler.lastNack.error}
                </span>
              )}
            </p>
          ) : (
            <p class="muted">no scheduler: static routes only</p>
          )}
        </section>
        <section class="panel wide">
          <h2>
            Open flows{' '}
            <span class="muted">
              {view
                ? `${view.flows.total} open${view.flows.total > FLOW_LIMIT ? `, first ${FLOW_LIMIT} listed` : ''}`
                : ''}
            </span>
          </h2>
          <DataTable
            id="flows"
            rows={view?.flows.flows ?? []}
            rowKey={(f) => f.id}
            filterable
            limit={200}
            initialSort={{ column: 6, direction: 'desc' }}
            columns={[
              { title: 'flow', value: (f) => f.id },
              { title: 'listener', value: (f) => f.listener },
              { title: 'source', value: (f) => f.source },
              { title: 'route', value: (f) => f.route ?? '' },
              { title: 'target', value: (f) => f.target ?? f.sni ?? '' },
              { title: 'state', value: (f) => f.state },
              {
                title: 'age',
                value: (f) => f.durationMs,
                render: (f) => fmtSpan(f.durationMs),
                numeric: true,
              },
              { title: 'in', value: (f) => f.bytesIn, render: (f) => fmtBytes(f.bytesIn), numeric: true },
              { title: 'out', value: (f) => f.bytesOut, render: (f) => fmtBytes(f.bytesOut), numeric: true },
            ]}
          />
        </section>
        <section class="panel wide">
          <details
            onToggle={(e) => {
              if ((e.target as HTMLDetailsElement).open && config === null)
                getJson<{ config: unknown }>('/config').then(
                  (c) => setConfig(c.config),
                  (err: unknown) =>
                    setConfig(`cannot read /config: ${err instanceof Error ? err.message : String(err)}`),
                )
            }}
          >
            <summary>Effective config (secrets masked)</summary>
            <pre class="config" id="config">
              {config === null
                ? 'loading…'
                : typeof config === 'string'
                  ? config
                  : JSON.stringify(config, null, 2)}
            </pre>
          </details>
        </section>
      </main>
    </>
  )
}

takeTokenFromFragment()
render(<App />, document.getElementById('app') as HTMLElement)
