import { startIperfServer } from '../backends/iperf.ts'
import type { RunContext } from '../context.ts'
import { parseIperfJson } from '../parse/iperf.ts'
import { HOST } from '../sys/net.ts'
import { toolPath } from '../sys/tools.ts'
import { proxyPids, withCpu } from './cpu.ts'
import type { MetricSpec, ProxyScenario, Sample } from './types.ts'

const SLACK_MS = 20_000

async function iperf(ctx: RunContext, port: number, flows: number) {
  const { durationS, iperfOmitS } = ctx.settings
  const args = ['-c', HOST, '-p', String(port), '-t', String(durationS), '-O', String(iperfOmitS)]
  args.push('-P', String(flows), '-J', '--connect-timeout', '3000')
  const timeoutMs = (durationS + iperfOmitS) * 1000 + SLACK_MS
  return parseIperfJson(await ctx.procs.run(`iperf3 -P ${flows}`, toolPath('iperf3'), args, timeoutMs))
}

export const THROUGHPUT_METRICS: readonly MetricSpec[] = [
  { key: 'gbps_1', label: '1 flow', unit: 'Gbit/s', better: 'higher' },
  { key: 'gbps_4', label: '4 flows', unit: 'Gbit/s', better: 'higher' },
  { key: 'cpu_s_per_gb', label: 'proxy CPU', unit: 's/GB', better: 'lower' },
]

/** iperf3 with 1 flow then 4 through `port`; CPU of every process in `pids` over both runs ÷ bytes. */
export async function measureThroughput(
  ctx: RunContext,
  port: number,
  pids: readonly number[],
): Promise<Sample> {
  const [[one, four], cpuS] = await withCpu(pids, async () => [
    await iperf(ctx, port, 1),
    await iperf(ctx, port, 4),
  ])
  const gigabytes = (one.bytes + four.bytes) / 1e9
  return {
    values: {
      gbps_1: one.bitsPerSecond / 1e9,
      gbps_4: four.bitsPerSecond / 1e9,
      cpu_s_per_gb: cpuS === null ? null : cpuS / gigabytes,
    },
    extra: { bytes_1: one.bytes, bytes_4: four.bytes },
  }
}

export const throughput: ProxyScenario = {
  name: 'throughput',
  title: 'Bulk throughput',
  method: (ctx) =>
    `iperf3 client → proxy → iperf3 server, ${ctx.settings.durationS} s per run, receiver side; ` +
    'proxy CPU over both runs ÷ bytes received',
  tools: ['iperf3'],
  metrics: THROUGHPUT_METRICS,
  needsProxyProcess: false,
  startBackend: startIperfServer,
  measure: (ctx, proxy) => measureThroughput(ctx, proxy.port, proxyPids(proxy)),
}
