import type { ProcessGroup } from './sys/processes.ts'

/** What every candidate and scenario gets from the harness. */
export interface RunContext {
  readonly procs: ProcessGroup
  /** A private directory for generated configs, removed at the end. */
  readonly tmpDir: string
  /** The `ulimit -n` servers are started with: as much of FD_LIMIT_WANTED as this machine allows. */
  readonly fdLimit: number
  readonly repoRoot: string
  readonly settings: Settings
  /** Progress lines for long runs (connecting thousands of simulated nodes); absent in tests. */
  readonly progress?: (line: string) => void
}

export interface Settings {
  readonly quick: boolean
  readonly rounds: number
  /** Length of each measured run (iperf3 -t, wrk -d). */
  readonly durationS: number
  /** wrk run before the measured one, so JITs and caches are warm. */
  readonly httpWarmupS: number
  /** iperf3 --omit: seconds of slow start and JIT warm-up left out of the result. */
  readonly iperfOmitS: number
  readonly idleConnections: number
}

export const READY_TIMEOUT_MS = 10_000
