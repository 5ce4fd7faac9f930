import type { Backend } from '../backends/types.ts'
import type { RunningProxy } from '../candidates/types.ts'
import type { RunContext } from '../context.ts'
import type { Tool } from '../sys/tools.ts'

export const SCENARIO_NAMES = ['throughput', 'keepalive', 'newconn', 'idle'] as const
export type ScenarioName = (typeof SCENARIO_NAMES)[number]

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
}

export interface Scenario {
  readonly name: ScenarioName
  readonly title: string
  /** How it is measured, one sentence for the summary. */
  readonly method: (ctx: RunContext) => string
  readonly tools: readonly Tool[]
  readonly metrics: readonly MetricSpec[]
  /** True when every metric is read from the proxy process, so `direct` has nothing to show. */
  readonly needsProxyProcess: boolean
  startBackend(ctx: RunContext): Promise<Backend>
  measure(ctx: RunContext, proxy: RunningProxy, backend: Backend): Promise<Sample>
}
