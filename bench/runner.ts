import type { Backend } from './backends/types.ts'
import type { Candidate, CandidateName } from './candidates/types.ts'
import type { RunContext } from './context.ts'
import type { MachineInfo } from './report/machine.ts'
import { type RoundRecord, type ScenarioResult, summarize } from './results.ts'
import {
  type MetricSpec,
  metricsOf,
  type ProxyScenario,
  type Sample,
  type Scenario,
} from './scenarios/types.ts'
import { formatNumber } from './stats.ts'
import { missingTools } from './sys/tools.ts'

export type Progress = (line: string) => void

interface Plan {
  readonly runnable: readonly Candidate[]
  readonly skipped: { candidate: CandidateName; reason: string }[]
}

/** Which candidates can take part, and why the others cannot. Pure apart from tool lookups. */
export function planCandidates(ctx: RunContext, scenario: Scenario, wanted: readonly Candidate[]): Plan {
  const runnable: Candidate[] = []
  const skipped: Plan['skipped'] = []
  for (const candidate of wanted) {
    const reason =
      scenario.needsProxyProcess && candidate.name === 'direct'
        ? 'no proxy process to measure'
        : ('unsupported' in scenario && scenario.unsupported(candidate)) || candidate.unavailable(ctx)
    if (reason) skipped.push({ candidate: candidate.name, reason })
    else runnable.push(candidate)
  }
  return { runnable, skipped }
}

export function describeSample(metrics: readonly MetricSpec[], sample: Sample): string {
  return metrics
    .map(({ key, label, unit }) => {
      const value = sample.values[key]
      return `${label} ${value === null || value === undefined ? 'n/a' : formatNumber(value)} ${unit}`
    })
    .join(', ')
}

async function measureOnce(ctx: RunContext, scenario: ProxyScenario, candidate: Candidate, backend: Backend) {
  const proxy = await candidate.start(ctx, backend.port)
  try {
    return await scenario.measure(ctx, proxy, backend)
  } finally {
    await proxy.stop()
  }
}

interface Measurer {
  measure(candidate: Candidate): Promise<Sample>
  stop(): Promise<void>
}

/** A proxy scenario shares one backend over all its rounds; an arranged one starts its own each run. */
async function measurer(ctx: RunContext, scenario: Scenario): Promise<Measurer> {
  if ('run' in scenario) return { measure: (c) => scenario.run(ctx, c), stop: async () => undefined }
  const backend = await scenario.startBackend(ctx)
  return { measure: (c) => measureOnce(ctx, scenario, c, backend), stop: () => backend.stop() }
}

/** Runs every candidate in turn, round after round (A B A B …), against one shared backend. */
export async function runScenario(
  ctx: RunContext,
  scenario: Scenario,
  wanted: readonly Candidate[],
  machine: MachineInfo,
  progress: Progress,
  notes: readonly string[],
): Promise<ScenarioResult> {
  const { runnable, skipped } = planCandidates(ctx, scenario, wanted)
  for (const s of skipped) progress(`${scenario.name}: skipping ${s.candidate}: ${s.reason}`)
  const base = {
    scenario: scenario.name,
    title: scenario.title,
    method: scenario.method(ctx),
    date: new Date().toISOString(),
    settings: ctx.settings,
    machine,
    metrics: metricsOf(scenario, ctx.settings),
    candidates: runnable.map((c) => c.name),
    skipped,
    notes: [...notes],
  }
  const missing = missingTools(scenario.tools)
  if (missing.length > 0) {
    progress(`${scenario.name}: skipped, missing ${missing.join(', ')}`)
    return { ...base, rounds: [], summary: {}, error: `skipped: missing ${missing.join(', ')}` }
  }
  let runs: Measurer
  try {
    runs = await measurer(ctx, scenario)
  } catch (err) {
    progress(`${scenario.name}: backend failed: ${(err as Error).message}`)
    return { ...base, rounds: [], summary: {}, error: `backend failed: ${(err as Error).message}` }
  }
  const rounds: RoundRecord[] = []
  try {
    for (let round = 1; round <= ctx.settings.rounds; round++) {
      for (const candidate of runnable) {
        const where = `${scenario.name} round ${round}/${ctx.settings.rounds} ${candidate.name}`
        progress(`${where} …`)
        try {
          const sample = await runs.measure(candidate)
          rounds.push({ round, candidate: candidate.name, values: sample.values, extra: sample.extra })
          for (const note of sample.notes ?? []) base.notes.push(`${candidate.name}, round ${round}: ${note}`)
          progress(`${where}: ${describeSample(base.metrics, sample)}`)
        } catch (err) {
          rounds.push({ round, candidate: candidate.name, error: (err as Error).message })
          progress(`${where}: failed: ${(err as Error).message}`)
        }
      }
    }
  } finally {
    await runs.stop()
  }
  return { ...base, rounds, summary: summarize(rounds, base.candidates, base.metrics) }
}
