/**
 * The outcome of a chaos run as numbers and as the table `npm run chaos` prints (and the README
 * shows): faults per kind, the flows started while each was in progress, what failed and why, and
 * how long the mesh took to settle after each. `summarize` decides whether the run passed.
 */
import { FAULT_KINDS, type FaultKind } from './faults.ts'
import type { FaultRecord } from './inject.ts'
import type { FlowRecord } from './load.ts'
import { type EmptySet, NO_PATH, type Verdict } from './verdict.ts'

export interface JudgedFlow {
  readonly flow: FlowRecord
  readonly verdict: Verdict
}

export interface ProcessCost {
  readonly name: string
  readonly peakLogBytesPerMinute: number
  readonly cpuSeconds: number
}

export interface ChaosInput {
  readonly seed: number
  /** How long faults were injected (the time asked for, or more to reach a count per kind). */
  readonly faultPhaseMs: number
  /** When the fault phase began, on the run's clock: times in the report count from it. */
  readonly phaseStartMs: number
  readonly faults: readonly FaultRecord[]
  readonly flows: readonly JudgedFlow[]
  readonly convergeBoundMs: number
  /** After the last fault: how long the mesh took to settle, or why it did not. */
  readonly final: { readonly convergenceMs: number } | { readonly why: string }
  readonly versionRegressions: readonly string[]
  /** Sets with no route the ingress applied while flows ran. */
  readonly emptyIngressSets: readonly EmptySet[]
  readonly processes: readonly ProcessCost[]
  readonly logBudgetBytesPerMinute: number
  readonly harnessCpuSeconds: number
}

export interface KindRow {
  readonly kind: FaultKind
  readonly injected: number
  readonly probes: number
  readonly longFlows: number
  readonly failed: number
  readonly excused: number
  readonly corruptBytes: number
  readonly convergedP50Ms: number | undefined
  readonly convergedMaxMs: number | undefined
  readonly unsettled: number
}

export interface ChaosSummary {
  readonly input: ChaosInput
  readonly rows: readonly KindRow[]
  readonly probes: number
  readonly longFlows: number
  readonly bytesChecked: number
  readonly corruptBytes: number
  readonly violations: readonly {
    readonly flow: FlowRecord
    readonly why: string
    readonly during: string[]
  }[]
  readonly excused: number
  /** Of the excused: flows refused while no path of the mesh worked (the rest lost their own path). */
  readonly excusedNoPath: number
  /** Every reason the run fails; empty when it passed. */
  readonly problems: readonly string[]
}

/** Faults whose window (start to settled, or to the bound) overlaps [from, to]. */
function faultsDuring(
  faults: readonly FaultRecord[],
  from: number,
  to: number,
  boundMs: number,
): FaultRecord[] {
  return faults.filter((f) => f.startMs <= to && windowEnd(f, boundMs) >= from)
}

function windowEnd(f: FaultRecord, boundMs: number): number {
  return f.recoveredMs + (f.convergenceMs ?? boundMs)
}

export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]
}

function rowOf(kind: FaultKind, input: ChaosInput): KindRow {
  const faults = input.faults.filter((f) => f.plan.kind === kind)
  const starts = (f: FaultRecord, j: JudgedFlow) =>
    j.flow.startMs >= f.startMs && j.flow.startMs <= windowEnd(f, input.convergeBoundMs)
  const touched = input.flows.filter((j) =>
    faults.some(
      (f) =>
        starts(f, j) ||
        (j.verdict.kind !== 'ok' &&
          faultsDuring([f], j.flow.startMs, j.flow.endMs, input.convergeBoundMs).length > 0),
    ),
  )
  const settled = faults.flatMap((f) => (f.convergenceMs === undefined ? [] : [f.convergenceMs]))
  return {
    kind,
    injected: faults.length,
    probes: touched.filter((j) => j.flow.kind === 'probe').length,
    longFlows: touched.filter((j) => j.flow.kind === 'long').length,
    failed: touched.filter((j) => j.verdict.kind === 'violation').length,
    excused: touched.filter((j) => j.verdict.kind === 'excused').length,
    corruptBytes: touched.reduce((sum, j) => sum + j.flow.corruptBytes, 0),
    convergedP50Ms: percentile(settled, 50),
    convergedMaxMs: settled.length === 0 ? undefined : Math.max(...settled),
    unsettled: faults.length - settled.length,
  }
}

export function summarize(input: ChaosInput): ChaosSummary {
  const rows = FAULT_KINDS.map((kind) => rowOf(kind, input)).filter((r) => r.injected > 0)
  const violations = input.flows.flatMap((j) =>
    j.verdict.kind === 'violation'
      ? [
          {
            flow: j.flow,
            why: j.verdict.why,
            during: faultsDuring(input.faults, j.flow.startMs, j.flow.endMs, input.convergeBoundMs).map(
              (f) => f.label,
            ),
          },
        ]
      : [],
  )
  const corruptBytes = input.flows.reduce((sum, j) => sum + j.flow.corruptBytes, 0)
  const problems = [
    ...(violations.length > 0 ? [`${violations.length} flows failed although a working path existed`] : []),
    ...(corruptBytes > 0 ? [`${corruptBytes} corrupt bytes`] : []),
    ...input.faults.flatMap((f) => (f.problem ? [`${f.label} on ${f.target}: ${f.problem}`] : [])),
    ...('why' in input.final
      ? [`not settled ${input.convergeBoundMs}ms after the last fault: ${input.final.why}`]
      : []),
    ...input.versionRegressions.map((r) => `version went back: ${r}`),
    ...input.emptyIngressSets.flatMap((e) =>
      e.working === undefined
        ? []
        : [
            `the ingress was sent set ${e.version} with no route at ${ms(e.atMs - input.phaseStartMs)} while ${e.working} worked`,
          ],
    ),
    ...input.processes
      .filter((p) => p.peakLogBytesPerMinute > input.logBudgetBytesPerMinute)
      .map(
        (p) =>
          `${p.name} logged ${kib(p.peakLogBytesPerMinute)} KiB/min (budget ${kib(input.logBudgetBytesPerMinute)})`,
      ),
  ]
  return {
    input,
    rows,
    probes: input.flows.filter((j) => j.flow.kind === 'probe').length,
    longFlows: input.flows.filter((j) => j.flow.kind === 'long').length,
    bytesChecked: input.flows.reduce((sum, j) => sum + j.flow.received, 0),
    corruptBytes,
    violations,
    excused: input.flows.filter((j) => j.verdict.kind === 'excused').length,
    excusedNoPath: input.flows.filter(
      (j) => j.verdict.kind === 'excused' && j.verdict.why.startsWith(NO_PATH),
    ).length,
    problems,
  }
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(1)
}

function ms(value: number | undefined): string {
  return value === undefined ? '—' : `${(value / 1000).toFixed(2)} s`
}

const TABLE_HEAD = [
  '| fault | injected | probes during | long flows during | failed | excused | corrupt bytes | settled p50 | settled max | not settled in bound |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
]

function tableRow(name: string, r: Omit<KindRow, 'kind'>): string {
  const cells = [
    name,
    r.injected,
    r.probes,
    r.longFlows,
    r.failed,
    r.excused,
    r.corruptBytes,
    ms(r.convergedP50Ms),
    ms(r.convergedMaxMs),
    r.unsettled,
  ]
  return `| ${cells.join(' | ')} |`
}

/** The table's last row: every fault and every flow of the run. */
function totalRow(s: ChaosSummary): Omit<KindRow, 'kind'> {
  const settled = s.input.faults.flatMap((f) => (f.convergenceMs === undefined ? [] : [f.convergenceMs]))
  return {
    injected: s.input.faults.length,
    probes: s.probes,
    longFlows: s.longFlows,
    failed: s.violations.length,
    excused: s.excused,
    corruptBytes: s.corruptBytes,
    convergedP50Ms: percentile(settled, 50),
    convergedMaxMs: settled.length === 0 ? undefined : Math.max(...settled),
    unsettled: s.input.faults.length - settled.length,
  }
}

function findingLines(s: ChaosSummary): string[] {
  const i = s.input
  const empty = i.emptyIngressSets.map((e) => e.version)
  const final = 'why' in i.final ? `no (${i.final.why})` : ms(i.final.convergenceMs)
  const mib = (s.bytesChecked / 1048576).toFixed(1)
  const logs = i.processes.map((p) => `${p.name} ${kib(p.peakLogBytesPerMinute)}`).join(', ')
  const cpu = i.processes.map((p) => `${p.name} ${p.cpuSeconds.toFixed(1)}`).join(', ')
  return [
    `flows: ${s.probes} probes and ${s.longFlows} long flows, ${mib} MiB echoed and checked byte for byte; ` +
      `excused: ${s.excused - s.excusedNoPath} failed with their path, ${s.excusedNoPath} found no working path`,
    `settled after the last fault: ${final}; versions gone back: ${i.versionRegressions.length}; ` +
      `sets with no route sent to the ingress: ${empty.length}${empty.length > 0 ? ` (${empty.slice(0, 10).join(', ')})` : ''}`,
    `logs, peak KiB/min (budget ${kib(i.logBudgetBytesPerMinute)}): ${logs}`,
    `CPU seconds: harness ${i.harnessCpuSeconds.toFixed(1)}, ${cpu}`,
  ]
}

/** Markdown: the per-kind table, the totals, then every failure with the faults in progress. */
export function renderReport(s: ChaosSummary): string {
  const i = s.input
  const verdict = s.problems.length === 0 ? 'PASSED' : 'FAILED'
  const lines = [
    `chaos run: seed ${i.seed}, faults for ${(i.faultPhaseMs / 60_000).toFixed(1)} min — ${verdict}`,
    '',
    ...TABLE_HEAD,
    ...s.rows.map((r) => tableRow(r.kind, r)),
    tableRow('**all**', totalRow(s)),
    '',
    ...findingLines(s),
  ]
  if (s.problems.length > 0) lines.push('', 'problems:', ...s.problems.map((p) => `- ${p}`))
  if (s.violations.length > 0) {
    lines.push('', 'failed flows:')
    for (const v of s.violations.slice(0, 50))
      lines.push(
        `- at ${ms(v.flow.startMs - i.phaseStartMs)}: ${v.why} — during ${v.during.join(', ') || 'no fault'}`,
      )
  }
  return lines.join('\n')
}
