import { setTimeout as sleep } from 'node:timers/promises'
import { startIdleServer } from '../backends/idle.ts'
import { FAILOVER_CANDIDATES, type FailoverSet, startFailoverSet } from '../candidates/failover-sets.ts'
import { BenchNoFailoverError } from '../errors.ts'
import { startProber } from './failover-probe.ts'
import { combineKills, type KillOutcome, summarizeKill } from './failover-summary.ts'
import type { ArrangedScenario } from './types.ts'

/** Kills per round; relay B is restarted (and seen up again) before the next one. */
const KILLS = 3
const INTERVAL_MS = 20
/** Connections started this long after a kill are the ones judged. */
const WINDOW_MS = 2_000
/** Probing before the kill: the ingress is known to carry flows through B when it dies. */
const LEAD_MS = 500
const ATTEMPT_TIMEOUT_MS = 5_000

async function oneKill(set: FailoverSet): Promise<KillOutcome & { cutAtKill: number }> {
  await set.bothUp()
  const prober = startProber(set.port, INTERVAL_MS, ATTEMPT_TIMEOUT_MS)
  let killMs: number
  try {
    await sleep(LEAD_MS)
    killMs = await set.killFirst()
    await sleep(Math.max(0, killMs + WINDOW_MS - performance.now()))
  } finally {
    await prober.stop()
  }
  const cutAtKill = prober.attempts.filter((a) => a.startMs < killMs && !a.ok).length
  await set.restartFirst()
  return { ...summarizeKill(prober.attempts, killMs, WINDOW_MS), cutAtKill }
}

export const failover: ArrangedScenario = {
  name: 'failover',
  title: 'Failover: the first relay of two is killed',
  method: () =>
    `A client opens a short connection every ${INTERVAL_MS} ms (success = the server's greeting byte arrives) ` +
    'through an ingress with two ways to the server, relay B first, relay C second; B is killed with SIGKILL ' +
    `${KILLS} times per round (restarted, and seen up by the ingress, in between). dynproxy: node A with ` +
    'paths [via b, via c]; HAProxy: `balance first`, two servers `check inter 200ms fall 1 rise 1`, ' +
    '`option redispatch`, `retries 3`, HAProxy relays. Failover = kill → end of the first successful ' +
    `connection started after it (worst of the round); failed and slowest connections started within ` +
    `${WINDOW_MS / 1000} s of a kill (summed, worst)`,
  tools: ['haproxy'],
  metrics: [
    { key: 'first_ok_ms', label: 'failover', unit: 'ms', better: 'lower' },
    { key: 'failed', label: 'failed connections', unit: 'per round', better: 'lower' },
    { key: 'worst_ms', label: 'slowest connection', unit: 'ms', better: 'lower' },
  ],
  needsProxyProcess: false,
  unsupported: (candidate) => {
    if (candidate.name === 'dynproxy-workers') return 'the relays are measured with one process per node'
    return FAILOVER_CANDIDATES.includes(candidate.name) ? undefined : 'has no second path to fail over to'
  },
  async run(ctx, candidate) {
    const backend = await startIdleServer(ctx)
    try {
      const set = await startFailoverSet(ctx, candidate, backend.port)
      try {
        const kills: (KillOutcome & { cutAtKill: number })[] = []
        for (let k = 0; k < KILLS; k++) kills.push(await oneKill(set))
        const total = combineKills(kills)
        if (total.firstOkMs === undefined)
          throw new BenchNoFailoverError(candidate.name, WINDOW_MS, total.failed)
        const extra: Record<string, number> = { kills: KILLS }
        kills.forEach((k, i) => {
          extra[`kill${i + 1}_first_ok_ms`] = k.firstOkMs ?? -1
          extra[`kill${i + 1}_failed`] = k.failed
          extra[`kill${i + 1}_attempts`] = k.attempts
          extra[`kill${i + 1}_cut_at_kill`] = k.cutAtKill
        })
        return {
          values: { first_ok_ms: total.firstOkMs, failed: total.failed, worst_ms: total.worstMs },
          extra,
        }
      } finally {
        await set.stop()
      }
    } finally {
      await backend.stop()
    }
  },
}
