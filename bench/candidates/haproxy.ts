import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RunContext } from '../context.ts'
import { HOST } from '../sys/net.ts'
import { missingTools, toolPath } from '../sys/tools.ts'
import { startProxyProcess } from './spawned.ts'
import type { Candidate, RunningProxy } from './types.ts'

/** Fds HAProxy keeps for itself (listeners, pollers, logs) beyond two per proxied connection. */
const RESERVED_FDS = 64

/** Mode tcp with HAProxy's own defaults (threads = cores); timeouts long enough for idle flows. */
export function haproxyConfig(port: number, targetPort: number, fdLimit: number): string {
  const maxconn = Math.max(1, Math.floor((fdLimit - RESERVED_FDS) / 2))
  return [
    'global',
    `  maxconn ${maxconn}`,
    'defaults',
    '  mode tcp',
    `  maxconn ${maxconn}`,
    '  timeout connect 5s',
    '  timeout client 1h',
    '  timeout server 1h',
    'frontend bench',
    `  bind ${HOST}:${port}`,
    '  default_backend bench',
    'backend bench',
    `  server target ${HOST}:${targetPort}`,
    '',
  ].join('\n')
}

/** An HAProxy process running `cfg(port)`, listening on a fresh port or on `fixedPort`. */
export function startHaproxyWith(
  ctx: RunContext,
  name: string,
  cfg: (port: number) => string,
  fixedPort?: number,
): Promise<RunningProxy> {
  const args = (port: number): string[] => {
    const file = join(ctx.tmpDir, `${name}-${port}.cfg`)
    writeFileSync(file, cfg(port))
    return ['-f', file, '-db']
  }
  return startProxyProcess(ctx, name, toolPath('haproxy'), args, fixedPort)
}

export const haproxy: Candidate = {
  name: 'haproxy',
  description: 'HAProxy, mode tcp, default threads',
  unavailable: () => missingTools(['haproxy'])[0],
  start: (ctx, targetPort) =>
    startHaproxyWith(ctx, 'haproxy', (port) => haproxyConfig(port, targetPort, ctx.fdLimit)),
}
