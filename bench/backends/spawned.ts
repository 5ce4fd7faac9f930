import { READY_TIMEOUT_MS, type RunContext } from '../context.ts'
import { freePort, waitForPort } from '../sys/net.ts'
import type { Backend } from './types.ts'

export async function startBackendProcess(
  ctx: RunContext,
  name: string,
  command: string,
  args: (port: number) => readonly string[],
  path?: string,
): Promise<Backend> {
  const port = await freePort()
  const tracked = ctx.procs.start(name, command, args(port), { fdLimit: ctx.fdLimit, cwd: ctx.tmpDir })
  try {
    await waitForPort(tracked, port, READY_TIMEOUT_MS)
  } catch (err) {
    await ctx.procs.stop(tracked)
    throw err
  }
  return { port, ...(path === undefined ? {} : { path }), stop: () => ctx.procs.stop(tracked) }
}
