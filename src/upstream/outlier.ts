/**
 * Passive outlier ejection: endpoints that keep failing connects are taken out of rotation for a
 * while, longer each time. Pure functions over plain mutable fields that the cluster's endpoint
 * state carries; time comes in as `now` and ejections end lazily when someone looks.
 */
import type { OutlierDetectionConfig } from '../config/types.ts'

export interface OutlierState {
  /** Consecutive connect failures since the last success or ejection. */
  failures: number
  /** Ejections so far; the next one lasts one base longer. */
  ejections: number
  /** Clock time the current ejection ends; 0 when not ejected. */
  ejectedUntil: number
}

export function isEjected(state: OutlierState, now: number): boolean {
  return state.ejectedUntil > now
}

/** Ends an ejection whose time is up; true exactly once per ejection, when it ends. */
export function expireEjection(state: OutlierState, now: number): boolean {
  if (state.ejectedUntil === 0 || state.ejectedUntil > now) return false
  state.ejectedUntil = 0
  return true
}

export function recordSuccess(state: OutlierState): void {
  state.failures = 0
}

/**
 * Counts a connect failure of `states[index]`; true when it ejects the endpoint. At the cap of
 * ejected endpoints the failure is still counted, so the endpoint goes as soon as room frees.
 */
export function recordFailure(
  states: readonly OutlierState[],
  index: number,
  now: number,
  config: OutlierDetectionConfig,
): boolean {
  const state = states[index]!
  state.failures++
  if (config.consecutiveFailures <= 0 || state.failures < config.consecutiveFailures) return false
  if (isEjected(state, now)) return false
  if (ejectedCount(states, now) >= maxEjected(states.length, config.maxEjectedPercent)) return false
  state.ejections++
  state.failures = 0
  state.ejectedUntil = now + ejectionMs(state.ejections, config)
  return true
}

export function ejectionMs(ejections: number, config: OutlierDetectionConfig): number {
  return Math.min(config.baseEjectionMs * ejections, config.maxEjectionMs)
}

/** A percentage too small for one whole endpoint still allows one: otherwise small clusters never eject. */
export function maxEjected(endpointCount: number, percent: number): number {
  if (percent <= 0 || endpointCount === 0) return 0
  return Math.max(1, Math.floor((endpointCount * Math.min(percent, 100)) / 100))
}

function ejectedCount(states: readonly OutlierState[], now: number): number {
  let count = 0
  for (const state of states) if (isEjected(state, now)) count++
  return count
}
