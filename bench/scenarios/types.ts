import type { Backend } from '../backends/types.ts'
import type { Candidate, RunningProxy } from '../candidates/types.ts'
import type { RunContext, Settings } from '../context.ts'
import type { Tool } from '../sys/tools.ts'

export const SCENARIO_NAMES = [
  'throughput',
  'keepalive',
  'newconn',
  'idle',
  'mesh',
  'failover',
  'control-plane',
] as const
export type ScenarioName = (typeof SCENARIO_NAMES)[number]

/** Scenarios whose rounds are not fixed-length load runs: their tables and charts say no "of N s runs". */
export const UNTIMED_SCENARIOS: readonly ScenarioName[] = ['idle', 'failover', 'control-plane']

export interface MetricSpec {
  readonly key: string
  readonly label: string
  readonly unit: string
  readonly better: 'higher' | 'lower'
}

/** One measurement of one candidate in one round; null where the metric has no meaning (no proxy PID). */
export interface Sample {
  readonly values: Readonly<Record<string, number | null>>
  /** Context for the raw record (error counts, timings), not summarised. */
  readonly extra: Readonly<Record<string, number>>
  /** What the table's footnotes should say about this run (a part that could not be measured). */
  readonly notes?: readonly string[]
}

interface ScenarioCommon {
  readonly name: ScenarioName
  readonly title: string
  /** How it is measured, one sentence for the summary. */
  readonly method: (ctx: RunContext) => string
  readonly tools: readonly Tool[]
  readonly metrics: readonly MetricSpec[]
  /** True when every metric is read from the proxy process, so `direct` has nothing to show. */
  readonly needsProxyProcess: boolean
}

/** Scenarios 1–4: one proxy the harness starts from the candidate, in front of one shared backend. */
export interface ProxyScenario extends ScenarioCommon {
  startBackend(ctx: RunContext): Promise<Backend>
  measure(ctx: RunContext, proxy: RunningProxy, backend: Backend): Promise<Sample>
}

/**
 * Scenarios that arrange each candidate their own way (a chain of two proxies, relays to kill, a
 * scheduler with simulated nodes): `run` starts everything one round needs, backends included,
 * measures, and stops it all, also when it fails.
 */
export interface ArrangedScenario extends ScenarioCommon {
  /** Why this scenario cannot arrange the candidate, or undefined when it can. */
  unsupported(candidate: Candidate): string | undefined
  /** When the columns depend on the settings (control-plane: one group per node count); default `metrics`. */
  metricsFor?(settings: Settings): readonly MetricSpec[]
  run(ctx: RunContext, candidate: Candidate): Promise<Sample>
}

export type Scenario = ProxyScenario | ArrangedScenario

export function metricsOf(scenario: Scenario, settings: Settings): readonly MetricSpec[] {
  return 'metricsFor' in scenario && scenario.metricsFor ? scenario.metricsFor(settings) : scenario.metrics
}
