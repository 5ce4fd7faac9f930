/**
 * Active health checks: a TCP connect to each endpoint every interval, and the rise/fall
 * hysteresis that turns single results into a health state, so one lost SYN does not take an
 * endpoint out and one lucky connect does not bring a broken one back.
 */
import type { HealthCheckConfig } from '../config/types.ts'
import type { EndpointHealth } from '../views/node-view.ts'
import { connectTcp } from './connect.ts'
import type { RandomSource } from './lb.ts'

export interface HealthState {
  readonly health: EndpointHealth
  /** Consecutive results against the current state, towards `rise` or `fall`. */
  readonly streak: number
}

export const UNCHECKED: HealthState = Object.freeze({ health: 'unchecked', streak: 0 })

/**
 * 'unchecked' behaves as healthy (usable, `fall` failures to go down) except that its first
 * success confirms it at once: a freshly started cluster should not wait `rise` intervals.
 */
export function nextHealth(state: HealthState, ok: boolean, rise: number, fall: number): HealthState {
  if (state.health === 'unhealthy') {
    if (!ok) return state.streak === 0 ? state : { health: 'unhealthy', streak: 0 }
    const streak = state.streak + 1
    return streak >= rise ? { health: 'healthy', streak: 0 } : { health: 'unhealthy', streak }
  }
  if (ok) return state.health === 'healthy' && state.streak === 0 ? state : { health: 'healthy', streak: 0 }
  const streak = state.streak + 1
  return streak >= fall ? { health: 'unhealthy', streak: 0 } : { health: state.health, streak }
}

export interface HealthTarget {
  readonly host: string
  readonly port: number
}

export interface HealthCheckerOptions {
  readonly targets: readonly HealthTarget[]
  readonly config: HealthCheckConfig
  /** Called with each probe's result, never after stop(). */
  readonly onResult: (index: number, ok: boolean) => void
  readonly random?: RandomSource
}

/** Spreads probes so that endpoints, and nodes checking the same endpoint, do not probe in lockstep. */
const JITTER = 0.1

/**
 * One probe chain per target: the next probe is scheduled when the previous one ends, so a slow
 * endpoint never has two probes in flight. Timers are unref'd: checks alone keep no process alive.
 */
export class HealthChecker {
  readonly #options: HealthCheckerOptions
  readonly #random: RandomSource
  readonly #timers = new Set<NodeJS.Timeout>()
  #abort: AbortController | undefined

  constructor(options: HealthCheckerOptions) {
    this.#options = options
    this.#random = options.random ?? Math.random
  }

  get running(): boolean {
    return this.#abort !== undefined
  }

  start(): void {
    if (this.#abort) return
    this.#abort = new AbortController()
    const { intervalMs } = this.#options.config
    for (let i = 0; i < this.#options.targets.length; i++) {
      this.#schedule(i, intervalMs * JITTER * this.#random())
    }
  }

  /** Idempotent; clears every timer and aborts every probe in flight. */
  stop(): void {
    const abort = this.#abort
    if (!abort) return
    this.#abort = undefined
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    abort.abort()
  }

  #schedule(index: number, delayMs: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#probe(index)
    }, delayMs)
    timer.unref()
    this.#timers.add(timer)
  }

  #probe(index: number): void {
    const abort = this.#abort
    if (!abort) return
    const target = this.#options.targets[index]!
    const { timeoutMs, intervalMs } = this.#options.config
    connectTcp(target.host, target.port, timeoutMs, abort.signal).then(
      (socket) => {
        socket.destroy()
        this.#report(abort, index, true, intervalMs)
      },
      () => this.#report(abort, index, false, intervalMs),
    )
  }

  #report(abort: AbortController, index: number, ok: boolean, intervalMs: number): void {
    if (abort !== this.#abort) return
    this.#options.onResult(index, ok)
    this.#schedule(index, intervalMs * (1 - JITTER + 2 * JITTER * this.#random()))
  }
}
