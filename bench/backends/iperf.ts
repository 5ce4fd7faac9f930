import type { RunContext } from '../context.ts'
import { HOST } from '../sys/net.ts'
import { toolPath } from '../sys/tools.ts'
import { startBackendProcess } from './spawned.ts'
import type { Backend } from './types.ts'

/** One iperf3 server for the whole scenario: it serves the tests one after another. */
export function startIperfServer(ctx: RunContext): Promise<Backend> {
  return startBackendProcess(ctx, 'iperf3 server', toolPath('iperf3'), (port) => [
    '-s',
    '-B',
    HOST,
    '-p',
    String(port),
  ])
}
