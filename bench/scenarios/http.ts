import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startNginx } from '../backends/nginx.ts'
import type { RunContext } from '../context.ts'
import { parseWrkOutput, WRK_REPORT_SCRIPT } from '../parse/wrk.ts'
import { HOST } from '../sys/net.ts'
import { toolPath } from '../sys/tools.ts'
import { withCpu } from './cpu.ts'
import type { Scenario, ScenarioName } from './types.ts'

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

/** wrk → proxy → nginx serving 1 KiB; `close` makes every request a new proxied connection. */
function httpScenario(name: ScenarioName, title: string, close: boolean): Scenario {
  return {
    name,
    title,
    method: (ctx) =>
      `wrk ${THREADS} threads, ${CONNECTIONS} connections${close ? ', "Connection: close"' : ' kept alive'}, ` +
      `${ctx.settings.durationS} s after a ${ctx.settings.httpWarmupS} s warm-up → proxy → nginx, 1 KiB file`,
    tools: ['wrk', 'nginx'],
    metrics: [
      { key: 'rps', label: 'requests', unit: 'req/s', better: 'higher' },
      { key: 'p50_ms', label: 'p50', unit: 'ms', better: 'lower' },
      { key: 'p99_ms', label: 'p99', unit: 'ms', better: 'lower' },
      { key: 'cpu_us_per_req', label: 'proxy CPU', unit: 'µs/req', better: 'lower' },
    ],
    needsProxyProcess: false,
    startBackend: startNginx,
    async measure(ctx, proxy, backend) {
      const url = `http://${HOST}:${proxy.port}${backend.path ?? '/'}`
      if (ctx.settings.httpWarmupS > 0) await runWrk(ctx, url, ctx.settings.httpWarmupS, close)
      const [output, cpuS] = await withCpu(proxy.pid, () => runWrk(ctx, url, ctx.settings.durationS, close))
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
    },
  }
}

export const keepalive = httpScenario('keepalive', 'Keep-alive request/response', false)
export const newconn = httpScenario('newconn', 'New connections per second', true)
