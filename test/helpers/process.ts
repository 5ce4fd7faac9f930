/**
 * Child processes that tests and the chaos harness start, break on purpose and start again: each
 * spawned from a command line, ready once a probe says so, signalled only through its own PID
 * (SIGKILL, SIGSTOP/SIGCONT, SIGTERM). Output is read line by line and counted, never kept whole:
 * the last few lines stay for error messages.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { TestingProcessStartError } from './errors.ts'

const READY_POLL_MS = 50
const DEFAULT_READY_TIMEOUT_MS = 15_000
const STOP_GRACE_MS = 5_000
const TAIL_LINES = 20
/** A line longer than this is cut: a process cannot make the harness hold more of its output. */
const MAX_LINE_CHARS = 64 * 1024

/** The CLI entry, run by the current runtime as the project's tests do. */
export const DYNPROXY_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

export type ProcessState = 'stopped' | 'running' | 'paused'

export interface ProcessSpec {
  /** Names the process in errors and in what `onLine` receives. */
  readonly name: string
  readonly command: string
  readonly args: readonly string[]
  /** Polled every 50 ms after spawn until it resolves true. */
  readonly ready: () => Promise<boolean>
  readonly readyTimeoutMs?: number
  /** Every line the process writes, stdout and stderr alike. */
  readonly onLine?: (line: string) => void
}

/** `dynproxy <args>` on the runtime running this code (Node or Bun), from the TypeScript sources. */
export function dynproxySpec(
  name: string,
  args: readonly string[],
  rest: Omit<ProcessSpec, 'name' | 'command' | 'args'>,
): ProcessSpec {
  return { name, command: process.execPath, args: [DYNPROXY_MAIN, ...args], ...rest }
}

export class ManagedProcess {
  readonly spec: ProcessSpec
  #child: ChildProcess | undefined
  #exited: Promise<void> = Promise.resolve()
  #paused = false
  #outputBytes = 0
  #cpuTicksOfEnded = 0
  #tail: string[] = []

  constructor(spec: ProcessSpec) {
    this.spec = spec
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  get state(): ProcessState {
    if (this.#child === undefined) return 'stopped'
    return this.#paused ? 'paused' : 'running'
  }

  /** Bytes written to stdout and stderr, over every run of the process. */
  get outputBytes(): number {
    return this.#outputBytes
  }

  /** CPU time (user + system, clock ticks) over every run so far, the current one included. */
  cpuTicks(): number {
    return this.#cpuTicksOfEnded + (this.pid === undefined ? 0 : readCpuTicks(this.pid))
  }

  /** Spawns the process and resolves once `ready` says so; rejects (and kills it) if it never does. */
  async start(): Promise<void> {
    if (this.#child) return
    const child = spawn(this.spec.command, [...this.spec.args], { stdio: ['ignore', 'pipe', 'pipe'] })
    if (child.pid === undefined) {
      child.once('error', () => undefined)
      throw new TestingProcessStartError(this.spec.name, `${this.spec.command} could not be spawned`, '')
    }
    this.#child = child
    this.#paused = false
    this.#read(child)
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        if (this.#child === child) this.#child = undefined
        resolve()
      })
    })
    await this.#waitReady(child)
  }

  /** SIGKILL: a crash. Resolves once the process has exited. */
  async kill(): Promise<void> {
    const child = this.#child
    if (!child?.pid) return
    this.#cpuTicksOfEnded += readCpuTicks(child.pid)
    signal(child.pid, 'SIGKILL')
    await this.#exited
  }

  /** SIGTERM (after SIGCONT, should it be paused), then SIGKILL if it has not exited within 5 s. */
  async stop(): Promise<void> {
    const child = this.#child
    if (!child?.pid) return
    const pid = child.pid
    if (this.#paused) this.resume()
    this.#cpuTicksOfEnded += readCpuTicks(pid)
    signal(pid, 'SIGTERM')
    const timer = setTimeout(() => signal(pid, 'SIGKILL'), STOP_GRACE_MS)
    await this.#exited
    clearTimeout(timer)
  }

  /** SIGSTOP: the process is slow, not dead; its sockets stay open and unanswered. */
  pause(): void {
    const pid = this.#child?.pid
    if (pid === undefined || this.#paused) return
    signal(pid, 'SIGSTOP')
    this.#paused = true
  }

  resume(): void {
    const pid = this.#child?.pid
    if (pid === undefined || !this.#paused) return
    signal(pid, 'SIGCONT')
    this.#paused = false
  }

  /** The last lines the process wrote, for error messages. */
  tail(): string {
    return this.#tail.join('\n')
  }

  async #waitReady(child: ChildProcess): Promise<void> {
    const timeoutMs = this.spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (this.#child !== child) {
        throw new TestingProcessStartError(this.spec.name, `it exited (${exitStatus(child)})`, this.tail())
      }
      if (await this.spec.ready().catch(() => false)) return
      if (Date.now() > deadline) {
        await this.kill()
        throw new TestingProcessStartError(this.spec.name, `not ready within ${timeoutMs}ms`, this.tail())
      }
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS))
    }
  }

  #read(child: ChildProcess): void {
    for (const stream of [child.stdout, child.stderr]) {
      let partial = ''
      stream?.on('data', (chunk: Buffer) => {
        this.#outputBytes += chunk.length
        const lines = (partial + chunk.toString()).split('\n')
        partial = (lines.pop() ?? '').slice(0, MAX_LINE_CHARS)
        for (const line of lines) if (line) this.#line(line)
      })
      stream?.on('end', () => {
        if (partial) this.#line(partial)
        partial = ''
      })
    }
  }

  #line(line: string): void {
    this.#tail.push(line.slice(0, 500))
    if (this.#tail.length > TAIL_LINES) this.#tail.shift()
    this.spec.onLine?.(line)
  }
}

function exitStatus(child: ChildProcess): string {
  return child.signalCode ? `signal ${child.signalCode}` : `code ${child.exitCode}`
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // it has exited already
  }
}

/** utime + stime of a live process; 0 once it is gone. The name may hold spaces: count from the last ')'. */
export function readCpuTicks(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return 0
  }
}
