/**
 * `dynproxy scheduler` as a child process for HA tests: started from a config text, its JSON log
 * read line by line (counted by message, bytes kept), stopped by its own PID only (through
 * ManagedProcess, like every process the tests break).
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { dynproxySpec, ManagedProcess } from '../helpers/process.ts'

const START_TIMEOUT_MS = 15_000
/** Lines kept per message, for tests that look at their fields. */
const KEPT_PER_MSG = 1000
/** The last log lines kept whole, for a failing test to show what the replica did. */
const TAIL_LINES = 300

export interface ReplicaProcess {
  readonly id: string
  readonly grpc: string
  readonly api: string
  readonly alive: boolean
  /** Log lines by `msg`, and every log byte, since start. */
  readonly logCounts: ReadonlyMap<string, number>
  readonly logBytes: number
  /** Log lines whose `msg` matches, in order. */
  lines(msg: string): readonly Record<string, unknown>[]
  /** The last log lines, oldest first. */
  tail(): readonly string[]
  kill(): Promise<void>
  /** SIGSTOP and SIGCONT: a replica cut off from everything, its sockets open and unanswered. */
  pause(): void
  resume(): void
  fetch(path: string, init?: RequestInit & { timeoutMs?: number }): Promise<Response>
}

/** Starts `dynproxy scheduler -c <dir>/<id>.yaml` and waits for its "scheduler started" line. */
export async function startReplicaProcess(id: string, dir: string, yaml: string): Promise<ReplicaProcess> {
  const file = join(dir, `${id}.yaml`)
  writeFileSync(file, yaml)
  const counts = new Map<string, number>()
  const kept = new Map<string, Record<string, unknown>[]>()
  const tail: string[] = []
  let addresses: { grpc: string; api: string } | undefined
  const onLine = (line: string) => {
    tail.push(line)
    if (tail.length > TAIL_LINES) tail.shift()
    let entry: Record<string, unknown>
    try {
      entry = JSON.parse(line) as Record<string, unknown>
    } catch {
      return
    }
    const msg = String(entry.msg)
    counts.set(msg, (counts.get(msg) ?? 0) + 1)
    const list = kept.get(msg) ?? []
    if (list.length < KEPT_PER_MSG) list.push(entry)
    kept.set(msg, list)
    if (msg === 'scheduler started' && entry.grpc && entry.api)
      addresses = { grpc: String(entry.grpc), api: String(entry.api) }
  }
  const proc = new ManagedProcess(
    dynproxySpec(`replica ${id}`, ['scheduler', '-c', file], {
      ready: async () => addresses !== undefined,
      readyTimeoutMs: START_TIMEOUT_MS,
      onLine,
    }),
  )
  await proc.start()
  const { grpc, api } = addresses as { grpc: string; api: string }
  return {
    id,
    grpc,
    api,
    get alive() {
      return proc.state !== 'stopped'
    },
    logCounts: counts,
    get logBytes() {
      return proc.outputBytes
    },
    lines: (msg) => kept.get(msg) ?? [],
    tail: () => [...tail],
    kill: () => proc.kill(),
    pause: () => proc.pause(),
    resume: () => proc.resume(),
    fetch(path, init = {}) {
      const { timeoutMs = 10_000, ...rest } = init
      return fetch(`http://${api}${path}`, { ...rest, signal: AbortSignal.timeout(timeoutMs) })
    },
  }
}
