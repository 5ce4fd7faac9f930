import type { CandidateName } from './candidates/types.ts'
import type { Settings } from './context.ts'
import type { MachineInfo } from './report/machine.ts'
import type { MetricSpec, ScenarioName } from './scenarios/types.ts'
import { ratio, type Spread, spread } from './stats.ts'

export interface RoundRecord {
  readonly round: number
  readonly candidate: CandidateName
  readonly values?: Readonly<Record<string, number | null>>
  readonly extra?: Readonly<Record<string, number>>
  readonly error?: string
}

export interface MetricSummary extends Spread {
  /** Median over HAProxy's median from the same rounds; read it with the metric's `better`. */
  readonly ratioToHaproxy: number | null
}

export interface ScenarioResult {
  readonly scenario: ScenarioName
  readonly title: string
  readonly method: string
  readonly date: string
  readonly settings: Settings
  readonly machine: MachineInfo
  readonly metrics: readonly MetricSpec[]
  readonly candidates: readonly CandidateName[]
  readonly skipped: readonly { readonly candidate: CandidateName; readonly reason: string }[]
  readonly rounds: readonly RoundRecord[]
  /** candidate → metric key → summary, null where no round produced the metric. */
  readonly summary: Readonly<Record<string, Readonly<Record<string, MetricSummary | null>>>>
  readonly notes: readonly string[]
  /** Set when the whole scenario could not run (missing tool, backend failed). */
  readonly error?: string
}

export function summarize(
  rounds: readonly RoundRecord[],
  candidates: readonly CandidateName[],
  metrics: readonly MetricSpec[],
): ScenarioResult['summary'] {
  const spreadOf = (candidate: CandidateName, key: string): Spread | undefined =>
    spread(rounds.filter((r) => r.candidate === candidate).map((r) => r.values?.[key]))
  const summary: Record<string, Record<string, MetricSummary | null>> = {}
  for (const candidate of candidates) {
    const row: Record<string, MetricSummary | null> = {}
    for (const { key } of metrics) {
      const own = spreadOf(candidate, key)
      row[key] = own ? { ...own, ratioToHaproxy: ratio(own, spreadOf('haproxy', key)) ?? null } : null
    }
    summary[candidate] = row
  }
  return summary
}
