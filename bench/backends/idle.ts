import type { RunContext } from '../context.ts'
import { startBackendProcess } from './spawned.ts'
import type { Backend } from './types.ts'

const script = new URL('./idle-server.ts', import.meta.url).pathname

export function startIdleServer(ctx: RunContext): Promise<Backend> {
  return startBackendProcess(ctx, 'idle server', process.execPath, (port) => [script, String(port)])
}
