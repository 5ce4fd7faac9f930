/**
 * `dynproxy scheduler` as a child process for HA tests: started from a config text, its JSON log
 * read line by line (counted by message, bytes kept), stopped by its own PID only.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { API_TOKEN_FILE } from '../../src/scheduler/rest-api.ts'
import { operatorHeaders } from '../helpers/node-harness.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const START_TIMEOUT_MS = 15_000

export interface ReplicaProcess {
  readonly id: string
  readonly grpc: string
  readonly api: string
  readonly child: ChildProcess
  readonly alive: boolean
  /** Log lines by `msg`, and every log byte, since start. */
  readonly logCounts: ReadonlyMap<string, number>
  readonly logBytes: number
  /** Log lines whose `msg` matches, in order. */
  lines(msg: string): readonly Record<string, unknown>[]
  kill(): Promise<void>
  /** A request to the REST API; a change without an authorization header goes as the operator's. */
  fetch(path: string, init?: RequestInit & { timeoutMs?: number }): Promise<Response>
}

/** The replica's operator token: configured, or the one it made in its state_dir. */
function operatorToken(yaml: string): string {
  const { apiToken, stateDir } = schedulerConfigFromText(yaml).scheduler
  return apiToken ?? readFileSync(join(stateDir, API_TOKEN_FILE), 'utf8').trim()
}

/** Starts `dynproxy scheduler -c <dir>/<id>.yaml` and waits for its "scheduler started" line. */
export async function startReplicaProcess(id: string, dir: string, yaml: string): Promise<ReplicaProcess> {
  const file = join(dir, `${id}.yaml`)
  writeFileSync(file, yaml)
  const child = spawn(process.execPath, [MAIN, 'scheduler', '-c', file], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const counts = new Map<string, number>()
  const kept = new Map<string, Record<string, unknown>[]>()
  let bytes = 0
  let alive = true
  child.once('exit', () => {
    alive = false
  })
  const input = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const started = new Promise<{ grpc: string; api: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${id} did not start`)), START_TIMEOUT_MS)
    child.once('exit', (code) => reject(new Error(`replica ${id} exited with ${code}`)))
    input.on('line', (line) => {
      bytes += line.length + 1
      let entry: Record<string, unknown>
      try {
        entry = JSON.parse(line) as Record<string, unknown>
      } catch {
        return
      }
      const msg = String(entry.msg)
      counts.set(msg, (counts.get(msg) ?? 0) + 1)
      const list = kept.get(msg) ?? []
      if (list.length < 1000) list.push(entry)
      kept.set(msg, list)
      if (msg === 'scheduler started' && entry.grpc && entry.api) {
        clearTimeout(timer)
        resolve({ grpc: String(entry.grpc), api: String(entry.api) })
      }
    })
  })
  const { grpc, api } = await started
  return {
    id,
    grpc,
    api,
    child,
    get alive() {
      return alive
    },
    logCounts: counts,
    get logBytes() {
      return bytes
    },
    lines: (msg) => kept.get(msg) ?? [],
    async kill() {
      if (!alive) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      await exited
    },
    fetch(path, init = {}) {
      const { timeoutMs = 10_000, ...rest } = init
      const given = (rest.headers ?? {}) as Record<string, string>
      const read = rest.method === undefined || rest.method === 'GET' || rest.method === 'HEAD'
      const operator = read || 'authorization' in given ? {} : operatorHeaders(operatorToken(yaml))
      return fetch(`http://${api}${path}`, {
        ...rest,
        headers: { ...operator, ...given },
        signal: AbortSignal.timeout(timeoutMs),
      })
    },
  }
}
