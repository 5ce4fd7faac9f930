import { READY_TIMEOUT_MS, type RunContext } from '../context.ts'
import { freePort, waitForPort } from '../sys/net.ts'
import type { RunningProxy } from './types.ts'

/**
 * Starts a proxy process listening on a fresh port (or `fixedPort`: a relay restarted where its
 * peers expect it) and waits until that port forwards.
 */
export async function startProxyProcess(
  ctx: RunContext,
  name: string,
  command: string,
  args: (port: number) => readonly string[],
  fixedPort?: number,
): Promise<RunningProxy> {
  const port = fixedPort ?? (await freePort())
  const tracked = ctx.procs.start(name, command, args(port), { fdLimit: ctx.fdLimit })
  try {
    await waitForPort(tracked, port, READY_TIMEOUT_MS)
  } catch (err) {
    await ctx.procs.stop(tracked)
    throw err
  }
  return { port, pid: tracked.pid, stop: () => ctx.procs.stop(tracked) }
}
