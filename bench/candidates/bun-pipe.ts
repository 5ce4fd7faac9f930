import { startProxyProcess } from './spawned.ts'
import type { Candidate } from './types.ts'

const script = new URL('./bun-pipe-proxy.ts', import.meta.url).pathname

export const bunPipe: Candidate = {
  name: 'bun-pipe',
  description:
    'a bare relay on Bun.listen / Bun.connect (bench/candidates/bun-pipe-proxy.ts), same Bun as dynproxy',
  unavailable: () => undefined,
  start: (ctx, targetPort) =>
    startProxyProcess(ctx, 'bun-pipe', process.execPath, (port) => [
      script,
      String(port),
      String(targetPort),
    ]),
}
