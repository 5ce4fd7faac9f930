import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { BenchNotReadyError, BenchProcessExitError } from '../errors.ts'
import type { Tracked } from './processes.ts'

export const HOST = '127.0.0.1'
const POLL_MS = 50

/** A port the kernel just handed out and released; good enough for a tool that binds it right after. */
export async function freePort(): Promise<number> {
  const server = net.createServer()
  server.listen(0, HOST)
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

const LISTEN_STATE = '0A'

/** True when a /proc/net/tcp{,6} table holds a listening socket on `port`. */
export function tableHasListener(table: string, port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  return table.split('\n').some((line) => {
    const [, local, , state] = line.trim().split(/\s+/)
    return state === LISTEN_STATE && local?.endsWith(`:${hexPort}`) === true
  })
}

function isListening(port: number): boolean {
  return ['/proc/net/tcp', '/proc/net/tcp6'].some((file) => {
    try {
      return tableHasListener(readFileSync(file, 'utf8'), port)
    } catch {
      return false // no IPv6 table on this kernel
    }
  })
}

/**
 * Polls until something listens on `port`, read from /proc rather than by connecting: a probe
 * connection would be forwarded to the backend, and iperf3 fails a test that starts while it
 * is still rejecting such an empty control connection. Fails early if the process exits.
 */
export async function waitForPort(tracked: Tracked, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited = false
  void tracked.exited.then(() => {
    exited = true
  })
  while (Date.now() < deadline) {
    if (exited)
      throw new BenchProcessExitError(tracked.name, tracked.exitStatus() ?? 'exit', tracked.output())
    if (isListening(port)) return
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  throw new BenchNotReadyError(tracked.name, `${HOST}:${port}`, timeoutMs)
}
