import {
  AggregatorRegistry,
  Counter,
  collectDefaultMetrics,
  Gauge,
  Histogram,
  type MetricObjectWithValues,
  type MetricValue,
  Registry,
} from 'prom-client'
import type { NodeView } from '../views/node-view.ts'
import { SCRAPED_FAMILIES, type ScrapedFamily } from './families.ts'
import { createScrapeSnapshot, type ScrapeSnapshot } from './snapshot.ts'

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** Flows last from a millisecond (a refused probe) to hours (a tunnel): 1 ms … 1 h. */
export const FLOW_DURATION_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
]

export interface MetricsOptions {
  readonly nodeId: string
  readonly region: string
  readonly version: string
  /**
   * A primary of worker processes: its workers' flow-duration histograms, last fetched, added into
   * its own on every render (the flows end in the workers).
   */
  readonly workerFlowDurations?: () => readonly MetricObjectWithValues<MetricValue<string>>[]
}

export type FlowDurations = MetricObjectWithValues<MetricValue<string>>

export interface Metrics {
  /** This node's own registry; the global prom-client registry is never used. */
  readonly registry: Registry
  /** The one call made per flow, when it closes. Non-finite or negative durations are ignored. */
  observeFlowDuration(listener: string, seconds: number): void
  /** The Prometheus text exposition (content type PROMETHEUS_CONTENT_TYPE). */
  render(): Promise<string>
  /** The flow-duration histogram as JSON, as a worker hands it to its primary. */
  flowDurations(): Promise<FlowDurations>
}

function scrapedMetric(family: ScrapedFamily, snapshot: ScrapeSnapshot): Counter | Gauge {
  const config = { name: family.name, help: family.help, labelNames: family.labelNames, registers: [] }
  // reset() first: a listener, route or peer gone since the last scrape loses its series.
  if (family.kind === 'counter') {
    return new Counter({
      ...config,
      collect() {
        this.reset()
        for (const { labels, value } of family.read(snapshot)) this.inc(labels, value)
      },
    })
  }
  return new Gauge({
    ...config,
    collect() {
      this.reset()
      for (const { labels, value } of family.read(snapshot)) this.set(labels, value)
    },
  })
}

type FlowDurationChild = Histogram.Internal<'listener'>

export function createMetrics(view: NodeView, opts: MetricsOptions): Metrics {
  const registry = new Registry()
  const snapshot = createScrapeSnapshot(view)

  const info = new Gauge({
    name: 'dynproxy_node_info',
    help: 'Constant 1, labelled with the node id, region and dynproxy version.',
    labelNames: ['node_id', 'region', 'version'],
    registers: [registry],
  })
  info.set({ node_id: opts.nodeId, region: opts.region, version: opts.version }, 1)
  for (const family of SCRAPED_FAMILIES) registry.registerMetric(scrapedMetric(family, snapshot))

  const flowDuration = new Histogram({
    name: 'dynproxy_flow_duration_seconds',
    help: 'Lifetime of closed flows, from accept to close.',
    labelNames: ['listener'],
    buckets: [...FLOW_DURATION_BUCKETS_SECONDS],
    registers: [registry],
  })
  collectDefaultMetrics({ register: registry, prefix: 'dynproxy_' })

  // labels() validates the label set and allocates two closures: paid once per listener, not per flow.
  const children = new Map<string, FlowDurationChild>()
  return {
    registry,
    observeFlowDuration(listener, seconds) {
      if (!Number.isFinite(seconds) || seconds < 0) return
      let child = children.get(listener)
      if (child === undefined) {
        child = flowDuration.labels(listener)
        children.set(listener, child)
      }
      child.observe(seconds)
    },
    render: () =>
      opts.workerFlowDurations ? renderWithWorkers(registry, opts.workerFlowDurations()) : registry.metrics(),
    flowDurations: () => flowDuration.get(),
  }
}

/** prom-client sums same-named series across the registries it aggregates: the primary's histogram is empty. */
async function renderWithWorkers(registry: Registry, workers: readonly FlowDurations[]): Promise<string> {
  const own = await registry.getMetricsAsJSON()
  const merged = AggregatorRegistry.aggregate([own, ...workers.map((w) => [w])])
  return merged.metrics()
}
