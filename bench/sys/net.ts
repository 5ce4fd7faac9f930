import { once } from 'node:events'
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

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/** Polls until `port` accepts; fails early if the process that should open it exits. */
export async function waitForPort(tracked: Tracked, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let exited = false
  void tracked.exited.then(() => {
    exited = true
  })
  while (Date.now() < deadline) {
    if (exited)
      throw new BenchProcessExitError(tracked.name, tracked.exitStatus() ?? 'exit', tracked.output())
    if (await canConnect(port)) return
    await new Promise((resolve) => setTimeout(resolve, POLL_MS))
  }
  throw new BenchNotReadyError(tracked.name, `${HOST}:${port}`, timeoutMs)
}
