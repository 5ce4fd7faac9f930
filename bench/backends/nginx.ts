import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RunContext } from '../context.ts'
import { HOST } from '../sys/net.ts'
import { toolPath } from '../sys/tools.ts'
import { startBackendProcess } from './spawned.ts'
import type { Backend } from './types.ts'

export const STATIC_FILE = '/1k.bin'
const STATIC_BYTES = 1024

/**
 * A single nginx process (no master, so the PID the harness tracks is the one serving) that
 * never closes a kept-alive connection during a run, with every path inside `prefix`.
 */
export function nginxConfig(prefix: string, port: number, fdLimit: number, asRoot: boolean): string {
  const temp = (kind: string): string => `  ${kind}_temp_path ${join(prefix, 'temp', kind)};`
  return [
    'daemon off;',
    'master_process off;',
    // as root nginx would switch to "nobody", which cannot read the private temp dir
    ...(asRoot ? ['user root root;'] : []),
    `pid ${join(prefix, 'nginx.pid')};`,
    'error_log stderr warn;',
    `worker_rlimit_nofile ${fdLimit};`,
    `events { worker_connections ${Math.max(1024, fdLimit - 64)}; }`,
    'http {',
    '  access_log off;',
    '  default_type application/octet-stream;',
    '  keepalive_requests 1000000000;',
    '  keepalive_timeout 300s;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp),
    `  server { listen ${HOST}:${port} backlog=4096; root ${join(prefix, 'www')}; }`,
    '}',
    '',
  ].join('\n')
}

export function startNginx(ctx: RunContext): Promise<Backend> {
  const prefix = join(ctx.tmpDir, 'nginx')
  mkdirSync(join(prefix, 'www'), { recursive: true })
  mkdirSync(join(prefix, 'temp'), { recursive: true })
  writeFileSync(join(prefix, 'www', STATIC_FILE), Buffer.alloc(STATIC_BYTES, 'x'))
  const asRoot = process.getuid?.() === 0
  return startBackendProcess(
    ctx,
    'nginx',
    toolPath('nginx'),
    (port) => {
      const conf = join(prefix, 'nginx.conf')
      writeFileSync(conf, nginxConfig(prefix, port, ctx.fdLimit, asRoot))
      return ['-e', 'stderr', '-p', prefix, '-c', conf]
    },
    STATIC_FILE,
  )
}
