/**
 * The config a worker process runs: the node's own, less what only the primary does (the
 * scheduler session), with the ports the first worker bound (so that `port: 0` means one port for
 * all) and each listener's `max_connections`, and the mesh port's limits on unauthenticated
 * connections, split between the workers (workerShare): each worker holds its own.
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
        maxUnauthenticated: workerShare(config.mesh.maxUnauthenticated, count),
        maxUnauthenticatedPerSource: workerShare(config.mesh.maxUnauthenticatedPerSource, count),
      },
    }),
  }
}

function workerListener(listener: ListenerConfig, count: number, port: number | undefined): ListenerConfig {
  return {
    ...listener,
    bind: { ...listener.bind, port: boundPort(listener.bind.port, port) },
    maxConnections: workerShare(listener.maxConnections, count),
  }
}

/**
 * A worker's part of a listener's limit. The kernel spreads connections between the workers'
 * sockets by a hash (SO_REUSEPORT), not evenly: an exact split would refuse connections while the
 * node as a whole is below its limit. Each worker takes its even part plus three standard
 * deviations of that spread (binomial, with the listener full), so the node refuses early in
 * about one fill in a thousand, and can hold at most that slack more than the limit in all.
 */
export function workerShare(max: number, count: number): number {
  if (count <= 1) return max
  const p = 1 / count
  return Math.min(max, Math.ceil(max * p + 3 * Math.sqrt(max * p * (1 - p))))
}

/** Only a `port: 0` takes the first worker's pick; a port written in the config is bound as written. */
function boundPort(configured: number, bound: number | undefined): number {
  return configured === 0 && bound !== undefined ? bound : configured
}
