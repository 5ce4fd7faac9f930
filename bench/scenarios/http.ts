import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startNginx } from '../backends/nginx.ts'
import type { RunContext } from '../context.ts'
import { parseWrkOutput, WRK_REPORT_SCRIPT } from '../parse/wrk.ts'
import { HOST } from '../sys/net.ts'
import { toolPath } from '../sys/tools.ts'
import { proxyPids, withCpu } from './cpu.ts'
import type { MetricSpec, ProxyScenario, Sample, ScenarioName } from './types.ts'

const CONNECTIONS = 50
const THREADS = 2
const SLACK_MS = 20_000

function wrkArgs(ctx: RunContext, url: string, durationS: number, close: boolean): string[] {
  const script = join(ctx.tmpDir, 'wrk-report.lua')
  writeFileSync(script, WRK_REPORT_SCRIPT)
  const args = ['-t', String(THREADS), '-c', String(CONNECTIONS), '-d', `${durationS}s`, '--timeout', '5s']
  args.push('--latency', '-s', script)
  if (close) args.push('-H', 'Connection: close')
  return [...args, url]
}

function runWrk(ctx: RunContext, url: string, durationS: number, close: boolean): Promise<string> {
  const timeoutMs = durationS * 1000 + SLACK_MS
  return ctx.procs.run('wrk', toolPath('wrk'), wrkArgs(ctx, url, durationS, close), timeoutMs)
}

export const HTTP_METRICS: readonly MetricSpec[] = [
  { key: 'rps', label: 'requests', unit: 'req/s', better: 'higher' },
  { key: 'p50_ms', label: 'p50', unit: 'ms', better: 'lower' },
  { key: 'p99_ms', label: 'p99', unit: 'ms', better: 'lower' },
  { key: 'cpu_us_per_req', label: 'proxy CPU', unit: 'µs/req', better: 'lower' },
]

export function httpMethod(ctx: RunContext, close: boolean): string {
  return (
    `wrk ${THREADS} threads, ${CONNECTIONS} connections${close ? ', "Connection: close"' : ' kept alive'}, ` +
    `${ctx.settings.durationS} s after a ${ctx.settings.httpWarmupS} s warm-up`
  )
}

/** wrk through `port` after a warm-up; CPU of every process in `pids` during the measured run only. */
export async function measureHttp(
  ctx: RunContext,
  port: number,
  pids: readonly number[],
  path: string,
  close: boolean,
): Promise<Sample> {
  const url = `http://${HOST}:${port}${path}`
  if (ctx.settings.httpWarmupS > 0) await runWrk(ctx, url, ctx.settings.httpWarmupS, close)
  const [output, cpuS] = await withCpu(pids, () => runWrk(ctx, url, ctx.settings.durationS, close))
  const wrk = parseWrkOutput(output)
  return {
    values: {
      rps: wrk.requests / wrk.durationS,
      p50_ms: wrk.p50Ms,
      p99_ms: wrk.p99Ms,
      cpu_us_per_req: cpuS === null ? null : (cpuS * 1e6) / wrk.requests,
    },
    extra: { requests: wrk.requests, errors: wrk.errors },
  }
}

/** wrk → proxy → nginx serving 1 KiB; `close` makes every request a new proxied connection. */
function httpScenario(name: ScenarioName, title: string, close: boolean): ProxyScenario {
  return {
    name,
    title,
    method: (ctx) => `${httpMethod(ctx, close)} → proxy → nginx, 1 KiB file`,
    tools: ['wrk', 'nginx'],
    metrics: HTTP_METRICS,
    needsProxyProcess: false,
    startBackend: startNginx,
    measure: (ctx, proxy, backend) =>
      measureHttp(ctx, proxy.port, proxyPids(proxy), backend.path ?? '/', close),
  }
}

export const keepalive = httpScenario('keepalive', 'Keep-alive request/response', false)
export const newconn = httpScenario('newconn', 'New connections per second', true)
