/**
 * A client opening one short connection every `intervalMs` (without waiting for the previous
 * one), each a success once the server's one-byte greeting arrives, a failure on error, on a
 * close before it, or after `timeoutMs`. Bounded: `stop()` ends it and waits for the last ones.
 */
import net from 'node:net'
import { HOST } from '../sys/net.ts'
import type { Attempt } from './failover-summary.ts'

export interface Prober {
  readonly attempts: readonly Attempt[]
  /** Stops opening connections; resolves once every open one has settled. */
  stop(): Promise<void>
}

function attempt(port: number, timeoutMs: number): Promise<Attempt> {
  const startMs = performance.now()
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port })
    let done = false
    const settle = (ok: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve({ startMs, endMs: performance.now(), ok })
    }
    const timer = setTimeout(() => settle(false), timeoutMs)
    socket.once('data', () => settle(true))
    socket.once('error', () => settle(false))
    socket.once('close', () => settle(false))
  })
}

export function startProber(port: number, intervalMs: number, timeoutMs: number): Prober {
  const attempts: Attempt[] = []
  const pending = new Set<Promise<void>>()
  const fire = (): void => {
    const p: Promise<void> = attempt(port, timeoutMs).then((a) => {
      attempts.push(a)
      pending.delete(p)
    })
    pending.add(p)
  }
  fire()
  const timer = setInterval(fire, intervalMs)
  return {
    attempts,
    async stop() {
      clearInterval(timer)
      await Promise.all(pending)
    },
  }
}
