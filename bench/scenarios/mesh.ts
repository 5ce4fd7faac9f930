import { startIperfServer } from '../backends/iperf.ts'
import { startNginx } from '../backends/nginx.ts'
import type { Backend } from '../backends/types.ts'
import { startChain } from '../candidates/chains.ts'
import type { Candidate } from '../candidates/types.ts'
import type { RunContext } from '../context.ts'
import { proxyPids } from './cpu.ts'
import { HTTP_METRICS, httpMethod, measureHttp } from './http.ts'
import { measureThroughput, THROUGHPUT_METRICS } from './throughput.ts'
import type { ArrangedScenario, MetricSpec, Sample } from './types.ts'

/** The chain's CPU is summed over both proxies: say so in the column. */
function chainCpu(metrics: readonly MetricSpec[]): MetricSpec[] {
  return metrics.map((m) => (m.label === 'proxy CPU' ? { ...m, label: 'CPU, both proxies' } : m))
}

async function throughChain(
  ctx: RunContext,
  candidate: Candidate,
  startBackend: (ctx: RunContext) => Promise<Backend>,
  measure: (port: number, pids: readonly number[], backend: Backend) => Promise<Sample>,
): Promise<Sample> {
  const backend = await startBackend(ctx)
  try {
    const chain = await startChain(ctx, candidate, backend.port)
    try {
      return await measure(chain.port, proxyPids(chain), backend)
    } finally {
      await chain.stop()
    }
  } finally {
    await backend.stop()
  }
}

export const mesh: ArrangedScenario = {
  name: 'mesh',
  title: 'Two-hop chain: dynproxy mesh (A → B) vs two chained proxies',
  method: (ctx) =>
    `dynproxy: node A's listener relays each flow over the mesh to node B, which connects to the server; ` +
    'HAProxy, node-pipe and bun-pipe: two processes, the first forwarding to the second. ' +
    `iperf3 as in "Bulk throughput" (${ctx.settings.durationS} s per run), then ${httpMethod(ctx, false)} → ` +
    'chain → nginx, 1 KiB file; CPU summed over both proxies',
  tools: ['iperf3', 'wrk', 'nginx'],
  metrics: chainCpu([...THROUGHPUT_METRICS, ...HTTP_METRICS]),
  needsProxyProcess: false,
  unsupported: (candidate) =>
    candidate.name === 'dynproxy-workers' ? 'the chain is measured with one process per node' : undefined,
  async run(ctx, candidate) {
    const bulk = await throughChain(ctx, candidate, startIperfServer, (port, pids) =>
      measureThroughput(ctx, port, pids),
    )
    const http = await throughChain(ctx, candidate, startNginx, (port, pids, backend) =>
      measureHttp(ctx, port, pids, backend.path ?? '/', false),
    )
    return { values: { ...bulk.values, ...http.values }, extra: { ...bulk.extra, ...http.extra } }
  },
}
