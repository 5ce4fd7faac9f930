/**
 * The scheduler console: the live mesh (topology), each service's path and why (services), what
 * routing buys (the gain charts), what changed (timeline), and the operator's actions. Everything
 * comes from the scheduler's REST API and its one event stream (`GET /events`).
 */
import { render } from 'preact'
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks'
import { getJson, takeTokenFromFragment } from '../shared/api.ts'
import { openEventStream, type StreamState } from '../shared/stream.ts'
import { TokenBar } from '../shared/token-bar.tsx'
import '../shared/style.css'
import {
  DOWN_COLOR,
  LOSSY_COLOR,
  mergeEvents,
  pathEdges,
  RTT_BANDS,
  type TimelineEvent,
  type Topology,
  type WhyView,
} from './model.ts'
import { ServiceEditor } from './service-form.tsx'
import { type GainPoint, SelectionTable, ServiceCard } from './services.tsx'
import { SidePanel } from './side-panel.tsx'
import { Timeline } from './timeline.tsx'
import { type Picked, TopologyView } from './topology.tsx'

interface Status {
  readonly id: string
  readonly epoch: number
  readonly leader: boolean
  readonly services: number
  readonly nodes: {
    readonly known: number
    readonly connected: number
    readonly synced: number
    readonly stale: number
  }
  readonly lastRecompute: {
    readonly at: string | null
    readonly durationMs: number
    readonly reason: string
  } | null
}

const MAX_EVENTS = 2000
const MAX_GAIN_POINTS = 720

function initialPick(): Picked | null {
  const node = new URLSearchParams(location.hash.slice(1)).get('node')
  return node ? { kind: 'node', id: node } : null
}

function App() {
  const [status, setStatus] = useState<Status | null>(null)
  const [topology, setTopology] = useState<Topology>({ nodes: [], links: [] })
  const [whys, setWhys] = useState<readonly WhyView[]>([])
  const [events, setEvents] = useState<readonly TimelineEvent[]>([])
  const [gain, setGain] = useState<ReadonlyMap<string, readonly GainPoint[]>>(new Map())
  const [stream, setStream] = useState<{ state: StreamState; detail?: string }>({ state: 'connecting' })
  const [picked, setPicked] = useState<Picked | null>(initialPick)
  const [selected, setSelected] = useState<string | null>(null)
  const [message, setMessage] = useState('')
  const [nowMs, setNowMs] = useState(Date.now())
  const [generation, setGeneration] = useState(0)

  useEffect(() => {
    const timer = window.setInterval(() => setNowMs(Date.now()), 1000)
    return () => window.clearInterval(timer)
  }, [])

  useEffect(() => {
    const pending: TimelineEvent[] = []
    let flush: number | undefined
    // The timeline lists the newest 150; the rest of the past is one GET /timeline away.
    return openEventStream('/events?replay=150', {
      wholeStates: ['topology', 'why', 'status'],
      onState: (state, detail) => setStream({ state, ...(detail !== undefined && { detail }) }),
      onMessage: (event, data) => {
        if (event === 'timeline') {
          // Replays arrive by the hundred: one render for the lot.
          pending.push(data as TimelineEvent)
          if (flush === undefined)
            flush = window.setTimeout(() => {
              flush = undefined
              const batch = pending.splice(0)
              setEvents((held) => mergeEvents(held, batch, MAX_EVENTS))
            }, 50)
        } else if (event === 'topology') setTopology(data as Topology)
        else if (event === 'why') setWhys(data as WhyView[])
        else if (event === 'status') setStatus(data as Status)
        else if (event === 'gain')
          setGain((held) => {
            const next = new Map(held)
            for (const p of data as (GainPoint & { key: string })[]) {
              const list = next.get(p.key) ?? []
              next.set(p.key, [...list, p].slice(-MAX_GAIN_POINTS))
            }
            return next
          })
      },
    })
  }, [generation])

  const focus = whys.find((w) => w.key === selected) ?? whys[0]
  // The selection shown gets its history the first time; the stream adds to it from then on.
  useEffect(() => {
    for (const w of focus ? [focus] : []) {
      if (gain.has(w.key)) continue
      setGain((held) => new Map(held).set(w.key, []))
      getJson<{ samples: GainPoint[] }>(`/gain?key=${encodeURIComponent(w.key)}&points=240`)
        .then(({ samples }) =>
          setGain((held) => {
            const live = held.get(w.key) ?? []
            const after = samples.length === 0 ? '' : (samples[samples.length - 1] as GainPoint).at
            return new Map(held).set(w.key, [...samples, ...live.filter((p) => p.at > after)])
          }),
        )
        .catch(() => undefined)
    }
  }, [focus?.key])

  const highlight = useMemo(() => pathEdges(focus?.chosen?.nodes ?? []), [focus?.chosen?.nodes.join('>')])
  const highlightNodes = useMemo(() => [...(focus?.chosen?.nodes ?? [])], [focus?.chosen?.nodes.join('>')])
  const onNode = useCallback((id: string) => setPicked({ kind: 'node', id }), [])
  // Read through a ref: a handler that changed with every update would re-render the timeline each time.
  const whysNow = useRef(whys)
  whysNow.current = whys
  const onService = useCallback((name: string) => {
    const w = whysNow.current.find((x) => x.service === name)
    if (w) {
      setSelected(w.key)
      document.getElementById('services')?.scrollIntoView({ block: 'nearest' })
    }
  }, [])
  const services = useMemo(() => [...new Set(whys.map((w) => w.service))].sort(), [whys])
  const down = topology.links.filter((l) => !l.up).length
  const disconnected = topology.nodes.filter((n) => !n.connected).length
  const draining = topology.nodes.filter((n) => n.draining).length

  return (
    <>
      <header>
        <h1>dynproxy scheduler</h1>
        <span id="stream-state" class={`pill ${stream.state}`} title={stream.detail ?? ''}>
          {stream.state === 'open'
            ? 'live'
            : stream.state === 'connecting'
              ? 'connecting…'
              : `reconnecting: ${stream.detail ?? ''}`}
        </span>
        {status && (
          <span class="summary" id="status">
            {status.id} · epoch {status.epoch} · {status.leader ? 'leader' : 'follower'} ·{' '}
            {status.nodes.connected}/{status.nodes.known} nodes connected · {status.nodes.stale} not in sync ·{' '}
            {status.services} services
          </span>
        )}
        <TokenBar onChange={() => setGeneration((g) => g + 1)} />
      </header>
      {message && (
        <p class="banner" id="message">
          {message}{' '}
          <button type="button" class="link" onClick={() => setMessage('')}>
            dismiss
          </button>
        </p>
      )}
      <main class="scheduler">
        <section class="panel topology-panel">
          <h2>
            Topology{' '}
            <span class="muted">
              {topology.nodes.length} nodes · {topology.links.length} links · {down} down · {disconnected}{' '}
              disconnected · {draining} draining
            </span>
          </h2>
          <TopologyView
            topology={topology}
            highlight={highlight}
            highlightNodes={highlightNodes}
            picked={picked}
            onPick={setPicked}
          />
          <p class="legend">
            {RTT_BANDS.map((b) => (
              <span key={b.label}>
                <i class="swatch" style={{ background: b.color }} /> {b.label}
              </span>
            ))}
            <span>
              <i class="swatch" style={{ background: LOSSY_COLOR }} /> losing packets
            </span>
            <span>
              <i class="swatch dashed" style={{ background: DOWN_COLOR }} /> down
            </span>
            <span>width: capacity · purple: the selected service's path</span>
          </p>
        </section>
        <section class="panel side">
          <h2>Selected</h2>
          <SidePanel picked={picked} topology={topology} nowMs={nowMs} onMessage={setMessage} />
        </section>
        <section class="panel services" id="services">
          <h2>Services and their paths</h2>
          {whys.length === 0 && <p class="muted">no service has an ingress yet</p>}
          {focus && <ServiceCard key={focus.key} why={focus} gain={gain.get(focus.key) ?? []} />}
          {whys.length > 1 && <SelectionTable whys={whys} focus={focus?.key} onSelect={setSelected} />}
        </section>
        <section class="panel timeline-panel">
          <h2>Timeline</h2>
          <Timeline events={events} nowMs={nowMs - (nowMs % 10_000)} onNode={onNode} onService={onService} />
        </section>
        <section class="panel editor">
          <details>
            <summary>Put or delete a service</summary>
            <ServiceEditor services={services} onDone={setMessage} />
          </details>
        </section>
      </main>
    </>
  )
}

takeTokenFromFragment()
render(<App />, document.getElementById('app') as HTMLElement)
