import { startProxyProcess } from './spawned.ts'
import type { Candidate } from './types.ts'

const script = new URL('./pipe-proxy.ts', import.meta.url).pathname

export const nodePipe: Candidate = {
  name: 'node-pipe',
  description: 'a 20-line Node socket.pipe proxy (bench/candidates/pipe-proxy.ts), same Node as dynproxy',
  unavailable: () => undefined,
  start: (ctx, targetPort) =>
    startProxyProcess(ctx, 'node-pipe', process.execPath, (port) => [
      script,
      String(port),
      String(targetPort),
    ]),
}
