/**
 * The node's short memory for its console: every 5 s (by default) it writes down its counters
 * (node, each listener, each route) and its peers' RTT and loss, and keeps an hour of them in
 * rings of fixed size. `GET /history` turns the counters into per-second rates and thins the
 * samples to what a chart draws. Reading the views costs what one `/stats` request costs; nothing
 * on the data path changes.
 */
import { downsample, ratesOf, type Sample, SampleRing } from '../util/series.ts'
import type { NodeView } from '../views/node-view.ts'
import { rejectedTotal } from '../views/node-view.ts'

export const HISTORY_INTERVAL_MS = 5000
/** One hour at HISTORY_INTERVAL_MS. */
export const HISTORY_SAMPLES = 720
/** Past this many listeners, routes or peers, the rest get no history: memory stays bounded on huge configs. */
export const MAX_SERIES_PER_KIND = 100

export type SeriesKind = 'node' | 'listener' | 'route' | 'peer'

interface Column {
  readonly name: string
  /** Counters become per-second rates; gauges are shown as they were. */
  readonly counter: boolean
}

export const COLUMNS: Readonly<Record<SeriesKind, readonly Column[]>> = {
  node: [
    { name: 'bytesIn', counter: true },
    { name: 'bytesOut', counter: true },
    { name: 'flows', counter: true },
    { name: 'activeFlows', counter: false },
    { name: 'rejected', counter: true },
    { name: 'failed', counter: true },
  ],
  listener: [
    { name: 'bytesIn', counter: true },
    { name: 'bytesOut', counter: true },
    { name: 'flows', counter: true },
    { name: 'activeFlows', counter: false },
    { name: 'rejected', counter: true },
  ],
  route: [
    { name: 'bytesIn', counter: true },
    { name: 'bytesOut', counter: true },
    { name: 'flows', counter: true },
    { name: 'failed', counter: true },
  ],
  peer: [
    { name: 'rttMs', counter: false },
    { name: 'loss', counter: false },
    { name: 'activeFlows', counter: false },
  ],
}

/** One sample of every series, read from the node's views: series key → values in COLUMNS order. */
export function readSample(
  view: NodeView,
): Map<string, { kind: SeriesKind; name: string; v: (number | null)[] }> {
  const out = new Map<string, { kind: SeriesKind; name: string; v: (number | null)[] }>()
  const stats = view.getStats()
  const c = stats.connections
  out.set('node', {
    kind: 'node',
    name: stats.node.id,
    v: [stats.traffic.bytesIn, stats.traffic.bytesOut, c.total, c.active, c.rejected, c.failed],
  })
  for (const l of view.getListeners().slice(0, MAX_SERIES_PER_KIND)) {
    out.set(`listener:${l.name}`, {
      kind: 'listener',
      name: l.name,
      v: [l.bytesIn, l.bytesOut, l.totalConnections, l.activeConnections, rejectedTotal(l.rejected)],
    })
  }
  for (const r of view.getRoutes().slice(0, MAX_SERIES_PER_KIND)) {
    const flows = r.matches.instruction + r.matches.cached_instruction + r.matches.static
    out.set(`route:${r.name}`, {
      kind: 'route',
      name: r.name,
      v: [r.bytesIn, r.bytesOut, flows, r.failedFlows],
    })
  }
  for (const p of view.getPeers().slice(0, MAX_SERIES_PER_KIND)) {
    out.set(`peer:${p.name}`, {
      kind: 'peer',
      name: p.name,
      v: [p.state === 'up' ? (p.rttMs ?? null) : null, p.loss ?? null, p.activeFlows],
    })
  }
  return out
}

export interface SeriesView {
  readonly key: string
  readonly kind: SeriesKind
  readonly name: string
  /** Column names; counters are per second (`bytesIn` is bytes/s, `flows` new flows/s). */
  readonly columns: readonly string[]
  readonly samples: readonly { readonly at: string; readonly v: readonly (number | null)[] }[]
}

/** What the API answers: counters as rates, at most `points` samples per series from `sinceMs` on. */
export function seriesView(
  key: string,
  kind: SeriesKind,
  name: string,
  samples: readonly Sample[],
  points: number,
): SeriesView {
  const columns = COLUMNS[kind]
  const rated = columns.some((c) => c.counter)
    ? ratesOf(
        samples,
        columns.map((c) => c.counter),
      )
    : [...samples]
  return {
    key,
    kind,
    name,
    columns: columns.map((c) => c.name),
    samples: downsample(rated, points).map((s) => ({ at: new Date(s.t).toISOString(), v: s.v })),
  }
}

export interface HistoryOptions {
  readonly view: NodeView
  readonly now: () => number
  readonly intervalMs?: number
  readonly samples?: number
}

export class NodeHistory {
  readonly intervalMs: number
  readonly #o: HistoryOptions
  readonly #rings = new Map<string, { kind: SeriesKind; name: string; ring: SampleRing }>()
  #timer: NodeJS.Timeout | undefined

  constructor(o: HistoryOptions) {
    this.#o = o
    this.intervalMs = o.intervalMs ?? HISTORY_INTERVAL_MS
  }

  start(): void {
    if (this.#timer !== undefined) return
    void this.sample()
    this.#timer = setInterval(() => void this.sample(), this.intervalMs)
    this.#timer.unref()
  }

  stop(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
  }

  /** Takes one sample now; series of listeners, routes and peers that are gone are dropped. */
  async sample(): Promise<void> {
    const { view } = this.#o
    try {
      await view.refresh?.('/history')
    } catch {
      // A node whose workers could not all answer samples what it has: the totals never go back.
    }
    const t = this.#o.now()
    const read = readSample(view)
    for (const key of this.#rings.keys()) if (!read.has(key)) this.#rings.delete(key)
    for (const [key, { kind, name, v }] of read) {
      let entry = this.#rings.get(key)
      if (entry === undefined) {
        entry = { kind, name, ring: new SampleRing(this.#o.samples ?? HISTORY_SAMPLES) }
        this.#rings.set(key, entry)
      }
      entry.ring.push({ t, v })
    }
  }

  /** Every series from `sinceMs` on, at most `points` samples each. */
  read(sinceMs: number, points: number): SeriesView[] {
    // One sample before the window, so the first rate in it can be computed.
    const from = sinceMs - this.intervalMs
    return [...this.#rings.entries()].map(([key, e]) =>
      seriesView(key, e.kind, e.name, e.ring.since(from), points),
    )
  }
}
