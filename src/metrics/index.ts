export { type Sample, SCRAPED_FAMILIES, type ScrapedFamily } from './families.ts'
export {
  createMetrics,
  FLOW_DURATION_BUCKETS_SECONDS,
  type Metrics,
  type MetricsOptions,
  PROMETHEUS_CONTENT_TYPE,
} from './metrics.ts'
export { createScrapeSnapshot, type ScrapeSnapshot } from './snapshot.ts'
