/**
 * Scenario `failover`: an ingress with two ways to the server, through relay B (preferred) or
 * relay C. dynproxy: node A with two mesh paths, B and C dynproxy relays. HAProxy: a front with
 * two health-checked servers, B and C HAProxy relays. B is killed and restarted on its own port.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { RunContext } from '../context.ts'
import { BenchSetupError } from '../errors.ts'
import { freePort, HOST } from '../sys/net.ts'
import { startDynproxyNode } from './chains.ts'
import { haproxyConfig, startHaproxyWith } from './haproxy.ts'
import { haproxyFailoverConfig, meshIngressConfig, meshRelayConfig } from './mesh-configs.ts'
import type { Candidate, CandidateName, RunningProxy } from './types.ts'

export const FAILOVER_CANDIDATES: readonly CandidateName[] = ['haproxy', 'dynproxy']

const READY_TIMEOUT_MS = 10_000
const POLL_MS = 50
/** HAProxy shows no state we poll here: ten check intervals (200 ms) after a restart bring B back. */
const HAPROXY_RISE_WAIT_MS = 2_000

export interface FailoverSet {
  /** Where clients connect: the ingress. */
  readonly port: number
  readonly pids: () => readonly number[]
  /** Resolves once the ingress sees both relays up, so it prefers B again. */
  bothUp(): Promise<void>
  /** SIGKILLs relay B; resolves with the time of the kill (performance.now()) once it is gone. */
  killFirst(): Promise<number>
  /** Starts relay B again on the port the ingress knows. */
  restartFirst(): Promise<void>
  stop(): Promise<void>
}

/** Relay `id` (b or c), on a fresh port or on `fixedPort` when restarted. */
type StartRelay = (id: string, fixedPort?: number) => Promise<RunningProxy>

interface Parts {
  readonly startRelay: StartRelay
  startIngress(
    relayPorts: readonly [number, number],
  ): Promise<{ proxy: RunningProxy; bothUp(): Promise<void> }>
}

async function peersUp(adminPort: number): Promise<string> {
  try {
    const res = await fetch(`http://${HOST}:${adminPort}/peers`, { signal: AbortSignal.timeout(1_000) })
    const body = (await res.json()) as { peers?: { name: string; state: string }[] }
    return (body.peers ?? []).map((p) => `${p.name} ${p.state}`).join(', ')
  } catch (err) {
    return `admin api: ${(err as Error).message}`
  }
}

/** Polls A's admin API until every peer it knows is up. */
async function waitPeersUp(adminPort: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  let last = ''
  while (Date.now() < deadline) {
    last = await peersUp(adminPort)
    if (/^(\w+ up)(, \w+ up)*$/.test(last)) return
    await sleep(POLL_MS)
  }
  throw new BenchSetupError('dynproxy node a: both relays up', READY_TIMEOUT_MS, `peers: ${last}`)
}

function dynproxyParts(ctx: RunContext, targetPort: number): Parts {
  return {
    startRelay: (id, fixedPort) =>
      startDynproxyNode(ctx, `dynproxy-${id}`, (port) => meshRelayConfig(id, port, targetPort), fixedPort),
    async startIngress([b, c]) {
      const [meshA, adminA] = [await freePort(), await freePort()]
      const proxy = await startDynproxyNode(ctx, 'dynproxy-a', (port) =>
        meshIngressConfig({
          id: 'a',
          listenPort: port,
          meshPort: meshA,
          adminPort: adminA,
          peers: [
            { name: 'b', port: b },
            { name: 'c', port: c },
          ],
          paths: [['b'], ['c']],
          targetPort,
        }),
      )
      return { proxy, bothUp: () => waitPeersUp(adminA) }
    },
  }
}

function haproxyParts(ctx: RunContext, targetPort: number): Parts {
  return {
    startRelay: (id, fixedPort) =>
      startHaproxyWith(
        ctx,
        `haproxy-${id}`,
        (port) => haproxyConfig(port, targetPort, ctx.fdLimit),
        fixedPort,
      ),
    async startIngress(relays) {
      const proxy = await startHaproxyWith(ctx, 'haproxy-a', (port) => haproxyFailoverConfig(port, relays))
      return { proxy, bothUp: () => sleep(HAPROXY_RISE_WAIT_MS) }
    },
  }
}

async function stopAll(proxies: readonly (RunningProxy | undefined)[]): Promise<void> {
  for (const p of proxies) await p?.stop()
}

export async function startFailoverSet(
  ctx: RunContext,
  candidate: Candidate,
  targetPort: number,
): Promise<FailoverSet> {
  const parts = candidate.name === 'dynproxy' ? dynproxyParts(ctx, targetPort) : haproxyParts(ctx, targetPort)
  let b: RunningProxy | undefined
  let c: RunningProxy | undefined
  try {
    b = await parts.startRelay('b')
    c = await parts.startRelay('c')
    const relayC = c
    const bPort = b.port
    const ingress = await parts.startIngress([bPort, relayC.port])
    const a = ingress.proxy
    return {
      port: a.port,
      pids: () => [a, b, relayC].flatMap((p) => (p?.pid === undefined ? [] : [p.pid])),
      bothUp: ingress.bothUp,
      async killFirst() {
        const victim = b
        if (victim?.pid === undefined) throw new BenchSetupError('relay b', 0, 'not running')
        const at = performance.now()
        process.kill(victim.pid, 'SIGKILL')
        b = undefined
        await victim.stop()
        return at
      },
      async restartFirst() {
        b = await parts.startRelay('b', bPort)
      },
      stop: () => stopAll([a, b, relayC]),
    }
  } catch (err) {
    await stopAll([b, c])
    throw err
  }
}
