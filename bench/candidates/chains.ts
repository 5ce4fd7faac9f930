/**
 * Two proxies in a row (scenario `mesh`): dynproxy as a 2-node mesh chain (ingress A relays each
 * flow to node B over the mesh, B connects to the target), the others as two copies of themselves,
 * the first forwarding to the second.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { RunContext } from '../context.ts'
import { freePort } from '../sys/net.ts'
import { cliPath } from './dynproxy.ts'
import { meshIngressConfig, meshRelayConfig } from './mesh-configs.ts'
import { startProxyProcess } from './spawned.ts'
import type { Candidate, RunningProxy } from './types.ts'

function pidsOf(proxy: RunningProxy): readonly number[] {
  return proxy.pids ?? (proxy.pid === undefined ? [] : [proxy.pid])
}

/** Starts the far proxy first, so the near one forwards to something that listens; stops both. */
async function chainOf(
  startFar: () => Promise<RunningProxy>,
  startNear: (farPort: number) => Promise<RunningProxy>,
): Promise<RunningProxy> {
  const far = await startFar()
  let near: RunningProxy
  try {
    near = await startNear(far.port)
  } catch (err) {
    await far.stop()
    throw err
  }
  return {
    port: near.port,
    pid: near.pid,
    pids: [...pidsOf(near), ...pidsOf(far)],
    stop: async () => {
      await near.stop()
      await far.stop()
    },
  }
}

/** A dynproxy node from a generated YAML file; `port` is what it listens on first (listener or mesh). */
export function startDynproxyNode(
  ctx: RunContext,
  name: string,
  yaml: (port: number) => string,
  fixedPort?: number,
): Promise<RunningProxy> {
  const args = (port: number): string[] => {
    const file = join(ctx.tmpDir, `${name}-${port}.yaml`)
    writeFileSync(file, yaml(port))
    return [cliPath(ctx), '-c', file]
  }
  return startProxyProcess(ctx, name, process.execPath, args, fixedPort)
}

async function dynproxyChain(ctx: RunContext, targetPort: number): Promise<RunningProxy> {
  const meshA = await freePort()
  return chainOf(
    () => startDynproxyNode(ctx, 'dynproxy-b', (port) => meshRelayConfig('b', port, targetPort)),
    (meshB) =>
      startDynproxyNode(ctx, 'dynproxy-a', (port) =>
        meshIngressConfig({
          id: 'a',
          listenPort: port,
          meshPort: meshA,
          adminPort: 0,
          peers: [{ name: 'b', port: meshB }],
          paths: [['b']],
          targetPort,
        }),
      ),
  )
}

export function startChain(ctx: RunContext, candidate: Candidate, targetPort: number): Promise<RunningProxy> {
  if (candidate.name === 'dynproxy') return dynproxyChain(ctx, targetPort)
  if (candidate.name === 'direct') return candidate.start(ctx, targetPort)
  return chainOf(
    () => candidate.start(ctx, targetPort),
    (farPort) => candidate.start(ctx, farPort),
  )
}
