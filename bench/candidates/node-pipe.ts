import { execFileSync } from 'node:child_process'
import { findExecutable } from '../sys/tools.ts'
import { startProxyProcess } from './spawned.ts'
import type { Candidate } from './types.ts'

const script = new URL('./pipe-proxy.mjs', import.meta.url).pathname

/** The machine's own Node, which no npm script provides any more: dynproxy runs on Bun. */
function nodeExecutable(): string | undefined {
  return findExecutable('node')
}

function unavailable(): string | undefined {
  const node = nodeExecutable()
  if (node === undefined) return 'no `node` on PATH (install Node.js to compare against plain Node)'
  try {
    execFileSync(node, ['-e', '0'], { stdio: 'ignore', timeout: 10_000 })
    return undefined
  } catch (err) {
    return `${node} does not run: ${(err as Error).message}`
  }
}

export const nodePipe: Candidate = {
  name: 'node-pipe',
  description: 'a 20-line socket.pipe proxy (bench/candidates/pipe-proxy.mjs) run by the machine’s Node',
  unavailable,
  start: (ctx, targetPort) =>
    startProxyProcess(ctx, 'node-pipe', nodeExecutable() ?? 'node', (port) => [
      script,
      String(port),
      String(targetPort),
    ]),
}
