import type { RunContext } from '../context.ts'

export const CANDIDATE_NAMES = [
  'direct',
  'haproxy',
  'node-pipe',
  'bun-pipe',
  'dynproxy',
  'dynproxy-workers',
] as const
export type CandidateName = (typeof CANDIDATE_NAMES)[number]

export interface RunningProxy {
  /** Where the load generator connects. */
  readonly port: number
  /** The process whose CPU and memory are measured; undefined when there is no proxy. */
  readonly pid: number | undefined
  /** Every process of a candidate that runs several (a chain); CPU is summed over them. Default: [pid]. */
  readonly pids?: readonly number[]
  stop(): Promise<void>
}

export interface Candidate {
  readonly name: CandidateName
  readonly description: string
  /** Why it cannot run on this machine, or undefined when it can. */
  unavailable(ctx: RunContext): string | undefined
  start(ctx: RunContext, targetPort: number): Promise<RunningProxy>
}
