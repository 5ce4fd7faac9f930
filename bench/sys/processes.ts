/**
 * Every process the harness starts goes through one ProcessGroup, which tracks it by PID and
 * kills it (and whatever it forked) by PID at the end, on Ctrl-C and on errors.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { BenchProcessExitError, BenchTimeoutError } from '../errors.ts'
import { processTree } from './procfs.ts'

const OUTPUT_KEEP_CHARS = 16_384
/** More than any tool's result (iperf3 -J is the largest, ~100 KiB); a chatty server cannot grow it past this. */
const STDOUT_MAX_CHARS = 8 * 1024 * 1024
const STOP_GRACE_MS = 3_000

export interface StartOptions {
  /** Raise `ulimit -n` to this before exec (sh's builtin; the PID stays the tool's own). */
  readonly fdLimit?: number
  readonly cwd?: string
}

export interface Tracked {
  readonly name: string
  readonly pid: number
  /** The last part of stdout and stderr, for error messages. */
  output(): string
  stdout(): string
  exitStatus(): string | undefined
  /** Settles when the process has exited. */
  readonly exited: Promise<void>
  /** Settles when it has exited and its output has been read to the end. */
  readonly closed: Promise<void>
}

export class ProcessGroup {
  readonly #entries = new Map<number, Tracked>()

  start(name: string, command: string, args: readonly string[], options: StartOptions = {}): Tracked {
    const [cmd, argv] =
      options.fdLimit === undefined
        ? [command, [...args]]
        : ['sh', ['-c', 'ulimit -n "$0" 2>/dev/null; exec "$@"', String(options.fdLimit), command, ...args]]
    const child = spawn(cmd, argv, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    if (child.pid === undefined) {
      child.once('error', () => undefined) // reported by the throw below
      throw new BenchProcessExitError(name, `no pid (is ${command} installed?)`, '')
    }
    const tracked = track(name, child, child.pid)
    this.#entries.set(child.pid, tracked)
    void tracked.exited.then(() => this.#entries.delete(child.pid as number))
    return tracked
  }

  /** Runs a tool to completion; kills it and rejects after `timeoutMs`, or when it exits non-zero. */
  async run(name: string, command: string, args: readonly string[], timeoutMs: number): Promise<string> {
    const tracked = this.start(name, command, args)
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs)
    })
    const outcome = await Promise.race([tracked.closed.then(() => 'exited' as const), timeout])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      await this.stop(tracked)
      throw new BenchTimeoutError(name, timeoutMs)
    }
    const status = tracked.exitStatus()
    if (status !== 'code 0')
      throw new BenchProcessExitError(name, status ?? 'unknown status', tracked.output())
    return tracked.stdout()
  }

  /** SIGTERM, then SIGKILL after a grace period, for the process and every descendant it had. */
  async stop(tracked: Tracked): Promise<void> {
    if (!this.#entries.has(tracked.pid)) return
    const tree = processTree(tracked.pid)
    signal(tracked.pid, 'SIGTERM')
    const graceful = await Promise.race([
      tracked.exited.then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), STOP_GRACE_MS).unref()),
    ])
    if (!graceful) signal(tracked.pid, 'SIGKILL')
    for (const pid of tree.slice(1)) signal(pid, 'SIGKILL')
    await tracked.exited
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((tracked) => this.stop(tracked)))
  }

  /** Last resort when the harness must exit now (a second Ctrl-C, an exit handler): no waiting. */
  killAllNow(): void {
    for (const pid of this.#entries.keys()) {
      for (const p of processTree(pid)) signal(p, 'SIGKILL')
    }
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}

function track(name: string, child: ChildProcess, pid: number): Tracked {
  let combined = ''
  let out = ''
  let status: string | undefined
  const keep = (text: string, chunk: Buffer): string => (text + chunk.toString()).slice(-OUTPUT_KEEP_CHARS)
  child.stdout?.on('data', (chunk: Buffer) => {
    if (out.length < STDOUT_MAX_CHARS) out += chunk.toString()
    combined = keep(combined, chunk)
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    combined = keep(combined, chunk)
  })
  const exited = new Promise<void>((resolve) => {
    child.on('error', (err) => {
      status = `spawn error ${err.message}`
      resolve()
    })
    child.on('exit', (code, sig) => {
      status = sig ? `signal ${sig}` : `code ${code}`
      resolve()
    })
  })
  const closed = new Promise<void>((resolve) => {
    child.on('error', () => resolve())
    child.on('close', () => resolve())
  })
  return {
    name,
    pid,
    output: () => combined,
    stdout: () => out,
    exitStatus: () => status,
    exited,
    closed,
  }
}

/** The `ulimit -n` a child really gets when asking for `wanted` (raising needs CAP_SYS_RESOURCE). */
export function obtainableFdLimit(wanted: number): number {
  const result = spawnSync('sh', ['-c', 'ulimit -n "$0" 2>/dev/null; ulimit -n', String(wanted)], {
    encoding: 'utf8',
    timeout: 5_000,
  })
  const limit = Number(result.stdout?.trim())
  return Number.isInteger(limit) && limit > 0 ? Math.min(limit, wanted) : 1024
}
