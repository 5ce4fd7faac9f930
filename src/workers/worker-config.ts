/**
 * The config a worker process runs: the node's own, less what only the primary does (the
 * scheduler session), with the ports the first worker bound (so that `port: 0` means one port for
 * all) and each listener's `max_connections` split between the workers, so that the node as a
 * whole keeps the limit the operator wrote.
 */
import type { ListenerConfig, NodeConfig } from '../config/types.ts'
import type { BoundPorts } from './messages.ts'

export function workerConfig(config: NodeConfig, count: number, bound: BoundPorts | undefined): NodeConfig {
  const { scheduler: _primaryOnly, ...rest } = config
  return {
    ...rest,
    common: { ...config.common, workers: 1 },
    listeners: config.listeners.map((l) => workerListener(l, count, bound?.listeners[l.name])),
    ...(config.mesh && {
      mesh: {
        ...config.mesh,
        bind: { ...config.mesh.bind, port: boundPort(config.mesh.bind.port, bound?.mesh) },
      },
    }),
  }
}

function workerListener(listener: ListenerConfig, count: number, port: number | undefined): ListenerConfig {
  return {
    ...listener,
    bind: { ...listener.bind, port: boundPort(listener.bind.port, port) },
    maxConnections: Math.ceil(listener.maxConnections / count),
  }
}

/** Only a `port: 0` takes the first worker's pick; a port written in the config is bound as written. */
function boundPort(configured: number, bound: number | undefined): number {
  return configured === 0 && bound !== undefined ? bound : configured
}
