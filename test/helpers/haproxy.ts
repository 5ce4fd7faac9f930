/**
 * A real HAProxy for interoperability tests, run in the foreground from a config the test writes.
 * It listens on loopback only, and close() signals only the process started here.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TestingHaproxyStartError } from './errors.ts'

const READY_TIMEOUT_MS = 5_000
const EXIT_TIMEOUT_MS = 3_000

/** Whether the haproxy binary is installed (CI installs Debian's haproxy). */
export function haproxyAvailable(binary = 'haproxy'): boolean {
  return spawnSync(binary, ['-v'], { stdio: 'ignore' }).status === 0
}

export interface TestHaproxy {
  close(): Promise<void>
}

/** Starts haproxy with `sections` (frontends, backends, listens) after a minimal global/defaults. */
export async function startHaproxy(sections: string, ports: readonly number[]): Promise<TestHaproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'dynproxy-haproxy-'))
  const file = join(dir, 'haproxy.cfg')
  const defaults = ['global', '  maxconn 1000', 'defaults', '  timeout connect 2s', '  timeout client 10s']
  await writeFile(file, [...defaults, '  timeout server 10s', sections, ''].join('\n'))
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()))
  const exited = once(child, 'exit')
  const close = async () => {
    await stop(child, exited)
    await rm(dir, { recursive: true, force: true })
  }
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (const port of ports) {
    while (!(await accepting(port))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        await close()
        throw new TestingHaproxyStartError(child.exitCode !== null ? 'exited' : 'did not listen', output)
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return { close }
}

async function stop(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_TIMEOUT_MS)
  await exited
  clearTimeout(timer)
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
