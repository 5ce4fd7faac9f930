import { setTimeout as sleep } from 'node:timers/promises'
import { startIdleServer } from '../backends/idle.ts'
import { treeRssKiB } from '../sys/procfs.ts'
import { closeAll, openIdleConnections } from './idle-client.ts'
import type { ProxyScenario } from './types.ts'

const WARMUP_CONNECTIONS = 200
/** Lets the proxy finish the work of the last accepts before memory is read. */
const SETTLE_MS = 500
const OPEN_TIMEOUT_MS = 60_000

export const idle: ProxyScenario = {
  name: 'idle',
  title: 'Idle connections',
  method: (ctx) =>
    `${ctx.settings.idleConnections} connections opened through the proxy to a Node server that greets each ` +
    'with one byte, held idle; proxy RSS growth (VmRSS, whole process tree) ÷ connections',
  tools: [],
  metrics: [{ key: 'kib_per_conn', label: 'memory per idle connection', unit: 'KiB', better: 'lower' }],
  needsProxyProcess: true,
  startBackend: startIdleServer,
  async measure(ctx, proxy) {
    const pid = proxy.pid as number
    const count = ctx.settings.idleConnections
    closeAll(await openIdleConnections(proxy.port, Math.min(WARMUP_CONNECTIONS, count), OPEN_TIMEOUT_MS))
    await sleep(SETTLE_MS)
    const before = treeRssKiB(pid)
    const started = performance.now()
    const sockets = await openIdleConnections(proxy.port, count, OPEN_TIMEOUT_MS)
    const openS = (performance.now() - started) / 1000
    await sleep(SETTLE_MS)
    const after = treeRssKiB(pid)
    closeAll(sockets)
    return {
      values: { kib_per_conn: (after - before) / count },
      extra: { connections: count, rss_before_kib: before, rss_after_kib: after, open_s: openS },
    }
  },
}
