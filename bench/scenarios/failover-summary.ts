/** What one kill did to the connections a client kept opening. Pure. */

export interface Attempt {
  /** performance.now() when the connection was started and when it settled. */
  readonly startMs: number
  readonly endMs: number
  /** The server's greeting arrived through the ingress. */
  readonly ok: boolean
}

export interface KillOutcome {
  /** Kill → the end of the first successful connection started after it; undefined: none succeeded. */
  readonly firstOkMs: number | undefined
  /** Connections started after the kill, within the window, that failed. */
  readonly failed: number
  /** The slowest successful connection started within the window: the latency clients felt. */
  readonly worstMs: number
  readonly attempts: number
}

/** Looks only at connections started in [killMs, killMs + windowMs]. */
export function summarizeKill(attempts: readonly Attempt[], killMs: number, windowMs: number): KillOutcome {
  const after = attempts
    .filter((a) => a.startMs >= killMs && a.startMs <= killMs + windowMs)
    .sort((x, y) => x.startMs - y.startMs)
  const firstOk = after.find((a) => a.ok)
  const durations = after.filter((a) => a.ok).map((a) => a.endMs - a.startMs)
  return {
    firstOkMs: firstOk === undefined ? undefined : firstOk.endMs - killMs,
    failed: after.filter((a) => !a.ok).length,
    worstMs: durations.length === 0 ? 0 : Math.max(...durations),
    attempts: after.length,
  }
}

/** Over several kills: the slowest failover and the worst latency, every failure counted. */
export function combineKills(kills: readonly KillOutcome[]): {
  firstOkMs: number | undefined
  failed: number
  worstMs: number
} {
  const firsts = kills.map((k) => k.firstOkMs)
  return {
    firstOkMs: firsts.some((f) => f === undefined) ? undefined : Math.max(...(firsts as number[])),
    failed: kills.reduce((sum, k) => sum + k.failed, 0),
    worstMs: Math.max(0, ...kills.map((k) => k.worstMs)),
  }
}
