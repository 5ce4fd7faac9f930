/**
 * The primary's end of one worker process: starting it, asking it for its views (request/reply by
 * id, each bounded by a deadline), and learning when it exits.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { NodeConfig } from '../config/types.ts'
import { WorkerStartError } from '../errors/index.ts'
import type { FlowInfo } from '../views/node-view.ts'
import type { BoundPorts, FromWorker, ToWorker, WorkerSnapshot } from './messages.ts'
import { isFromWorker } from './messages.ts'

export type ResolveRequest = Extract<FromWorker, { type: 'resolve' }>
export type NonceQuestions = Extract<FromWorker, { type: 'remember-nonces' }>

/** What a worker asks its primary, which answers with `send`. */
export interface WorkerRequests {
  readonly resolve: (request: ResolveRequest) => void
  readonly rememberNonces: (questions: NonceQuestions) => void
}

export interface WorkerExit {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** Forks `worker-main` next to this file: `.ts` when run from source, `.js` once built. */
export function forkWorkerProcess(): ChildProcess {
  const here = fileURLToPath(import.meta.url)
  const entry = fileURLToPath(new URL(`./worker-main${extname(here)}`, import.meta.url))
  return fork(entry, [], {
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // A test runner's flags would make the worker a test file.
    execArgv: process.execArgv.filter((arg) => !arg.startsWith('--test')),
  })
}

type Reply = Extract<FromWorker, { type: 'snapshot' | 'flows' | 'reloaded' | 'probed' }>
export type ReloadReply = Extract<FromWorker, { type: 'reloaded' }>
export type ProbeReply = Extract<FromWorker, { type: 'probed' }>

export class WorkerHandle {
  readonly index: number
  readonly exited: Promise<WorkerExit>
  readonly #child: ChildProcess
  readonly #replies = new Map<number, (reply: Reply) => void>()
  #nextId = 0
  #startedAt: number | undefined

  constructor(index: number, child: ChildProcess, requests: WorkerRequests) {
    this.index = index
    this.#child = child
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        for (const wake of this.#replies.values()) wake({ type: 'flows', id: -1, flows: [] })
        this.#replies.clear()
        resolve({ code, signal })
      })
    })
    child.on('message', (message: unknown) => {
      if (!isFromWorker(message)) return
      if (message.type === 'resolve') requests.resolve(message)
      else if (message.type === 'remember-nonces') requests.rememberNonces(message)
      else if (message.type !== 'started' && message.type !== 'failed') {
        this.#replies.get(message.id)?.(message)
        this.#replies.delete(message.id)
      }
    })
    // An IPC write to a process that just died: its exit is handled through `exited`.
    child.on('error', () => {})
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  /** When it reported started (ms since the epoch), once it has. */
  get startedAt(): number | undefined {
    return this.#startedAt
  }

  /** Sends the worker its config; resolves with the ports it bound, rejects if it fails or dies first. */
  start(config: NodeConfig, now: () => number): Promise<BoundPorts> {
    return new Promise((resolve, reject) => {
      const onMessage = (message: unknown) => {
        if (!isFromWorker(message)) return
        if (message.type === 'started') {
          settle()
          this.#startedAt = now()
          resolve(message.bound)
        } else if (message.type === 'failed') {
          settle()
          reject(new WorkerStartError(this.index, message))
        }
      }
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        settle()
        reject(
          new WorkerStartError(this.index, {
            message: `exited (${signal ?? `code ${code}`}) before it started`,
          }),
        )
      }
      const settle = () => {
        this.#child.off('message', onMessage)
        this.#child.off('exit', onExit)
      }
      this.#child.on('message', onMessage)
      this.#child.once('exit', onExit)
      this.send({ type: 'start', config, index: this.index })
    })
  }

  send(message: ToWorker): void {
    if (!this.#child.connected) return
    // A failed write means the worker is exiting: what it misses no longer matters, `exited` handles it.
    this.#child.send(message, () => {})
  }

  /** The worker's views now, or undefined if it does not answer within `timeoutMs`. */
  snapshot(timeoutMs: number): Promise<WorkerSnapshot | undefined> {
    return this.#request((id) => ({ type: 'snapshot', id }), timeoutMs).then((r) =>
      r?.type === 'snapshot' ? r.snapshot : undefined,
    )
  }

  flows(timeoutMs: number): Promise<readonly FlowInfo[]> {
    return this.#request((id) => ({ type: 'flows', id }), timeoutMs).then((r) =>
      r?.type === 'flows' ? r.flows : [],
    )
  }

  /** Applies a reloaded config in the worker; undefined if it does not answer within `timeoutMs`. */
  reload(config: NodeConfig, timeoutMs: number): Promise<ReloadReply | undefined> {
    return this.#request((id) => ({ type: 'reload', id, config }), timeoutMs).then((r) =>
      r?.type === 'reloaded' ? r : undefined,
    )
  }

  /** Probes the link to `peer` from this worker; undefined if it does not answer within `timeoutMs`. */
  probe(peer: string, timeoutMs: number): Promise<ProbeReply | undefined> {
    return this.#request((id) => ({ type: 'probe', id, peer }), timeoutMs).then((r) =>
      r?.type === 'probed' ? r : undefined,
    )
  }

  #request(message: (id: number) => ToWorker, timeoutMs: number): Promise<Reply | undefined> {
    if (!this.#child.connected) return Promise.resolve(undefined)
    const id = this.#nextId++
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#replies.delete(id)
        resolve(undefined)
      }, timeoutMs)
      this.#replies.set(id, (reply) => {
        clearTimeout(timer)
        resolve(reply)
      })
      this.send(message(id))
    })
  }

  kill(signal: NodeJS.Signals): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal)
  }
}
