/**
 * What the node tells the scheduler: who it is (hello) and what it measured (reports), built from
 * the same views the admin API serves.
 */
import { memoryUsage } from 'node:process'
import type { NodeConfig } from '../config/types.ts'
import { describeTarget } from '../route/describe.ts'
import type { HelloInfo, ReportInfo } from '../scheduler-client/index.ts'
import { formatHostPort } from '../util/host-port.ts'
import type { PeerStatus, RouteStatus } from '../views/node-view.ts'
import { PACKAGE_VERSION } from './version.ts'

export interface BoundListener {
  readonly name: string
  readonly address: string
  readonly port: number
}

export function helloInfo(
  config: NodeConfig,
  listeners: readonly BoundListener[],
  meshAddress: string | undefined,
  adminUrl?: string,
): HelloInfo {
  return {
    nodeId: config.common.nodeId,
    region: config.common.region,
    ...(meshAddress !== undefined && { meshAddress }),
    listeners: listeners.map((l) => ({ name: l.name, bind: l.address, port: l.port })),
    staticRoutes: config.routes.map((r) => ({
      name: r.name,
      match: r.match,
      target: describeTarget(r.target),
    })),
    peers: config.peers.map((p) => ({
      name: p.name,
      address: formatHostPort(p.address.host, p.address.port),
      ...(p.region !== undefined && { region: p.region }),
    })),
    capabilities: ['mesh-raw', 'path-token-v1'],
    softwareVersion: PACKAGE_VERSION,
    ...(adminUrl !== undefined && { adminUrl }),
  }
}

/**
 * `capacities`: the bandwidth the config declares for the link to each peer, bytes/s. Links are
 * not probed for capacity: what the operator knows of them is what the scheduler plans with.
 */
export function reportInfo(
  routes: readonly RouteStatus[],
  peers: readonly PeerStatus[],
  activeFlows: number,
  capacities: ReadonlyMap<string, number> = new Map(),
  draining = false,
): ReportInfo {
  return {
    routes: routes.map((r) => ({
      route: r.name,
      matches: r.matches,
      bytesIn: r.bytesIn,
      bytesOut: r.bytesOut,
      failures: r.failedFlows,
      ...(r.paths.some((p) => p.carried) && {
        paths: r.paths.flatMap((p, index) =>
          p.carried
            ? [
                {
                  index,
                  bytesSent: p.carried.bytesSent,
                  bytesReceived: p.carried.bytesReceived,
                  retransmittedBytes: p.carried.retransmittedBytes,
                  ...(p.carried.srttMs !== undefined && { srttMs: p.carried.srttMs }),
                },
              ]
            : [],
        ),
      }),
    })),
    links: peers.map((p) => ({
      peer: p.name,
      up: p.state === 'up',
      ...(p.rttMs !== undefined && { rttMs: p.rttMs }),
      ...(p.jitterMs !== undefined && { jitterMs: p.jitterMs }),
      ...(p.loss !== undefined && { loss: p.loss }),
      ...linkCapacity(p, capacities),
      activeFlows: p.activeFlows,
    })),
    targets: routes.flatMap((r) =>
      r.endpoints.map((e) => ({
        address: e.address,
        connects: e.totalConnections,
        failures: e.connectFailures,
      })),
    ),
    load: { activeFlows, rssBytes: memoryUsage.rss(), draining },
  }
}

/** A link's capacity as reported: measured by a recent probe, else as declared, else left out (unknown). */
function linkCapacity(peer: PeerStatus, declared: ReadonlyMap<string, number>): { throughputBps?: number } {
  const bps = peer.throughputBps ?? declared.get(peer.name)
  return bps === undefined ? {} : { throughputBps: bps }
}

/** The declared capacity of each peer link (`peers[].bandwidth_mbit`), for reportInfo. */
export function peerCapacities(config: NodeConfig): Map<string, number> {
  return new Map(
    config.peers.flatMap((p) => (p.bandwidthBps === undefined ? [] : [[p.name, p.bandwidthBps]])),
  )
}
