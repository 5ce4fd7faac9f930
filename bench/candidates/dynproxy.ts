import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RunContext } from '../context.ts'
import { HOST } from '../sys/net.ts'
import { startProxyProcess } from './spawned.ts'
import type { Candidate } from './types.ts'

/** One node, one listener, one static route: the shortest dynproxy path. */
export function dynproxyConfig(port: number, targetPort: number, workers: number | 'auto' = 1): string {
  return [
    `common: { node_id: bench, admin_addr: "127.0.0.1:0", access_log: false, log_level: warn, workers: ${workers} }`,
    `listeners: [{ name: bench, bind: "${HOST}:${port}" }]`,
    `routes: [{ name: bench, match: { listener: bench }, target: "${HOST}:${targetPort}" }]`,
    '',
  ].join('\n')
}

/** The CLI, run from its TypeScript sources by the same Bun as the harness. */
export function cliPath(ctx: RunContext): string {
  return join(ctx.repoRoot, 'src', 'cli', 'main.ts')
}

function startNode(ctx: RunContext, name: string, targetPort: number, workers: number | 'auto') {
  return startProxyProcess(ctx, name, process.execPath, (port) => {
    const file = join(ctx.tmpDir, `${name}-${port}.yaml`)
    writeFileSync(file, dynproxyConfig(port, targetPort, workers))
    return [cliPath(ctx), '-c', file]
  })
}

export const dynproxy: Candidate = {
  name: 'dynproxy',
  description: 'one dynproxy node, static route',
  unavailable: () => undefined,
  start: (ctx, targetPort) => startNode(ctx, 'dynproxy', targetPort, 1),
}

/** As HAProxy uses a thread per core by default: one worker process per core. */
export const dynproxyWorkers: Candidate = {
  name: 'dynproxy-workers',
  description: 'one dynproxy node with `workers: auto` (a worker process per core), static route',
  unavailable: () => undefined,
  start: (ctx, targetPort) => startNode(ctx, 'dynproxy-workers', targetPort, 'auto'),
}
