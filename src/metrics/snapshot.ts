import type { ListenerStatus, NodeStats, NodeView, PeerStatus, RouteStatus } from '../views/node-view.ts'

/** The node's views as one scrape sees them: each read at most once per scrape. */
export interface ScrapeSnapshot {
  stats(): NodeStats
  listeners(): readonly ListenerStatus[]
  routes(): readonly RouteStatus[]
  peers(): readonly PeerStatus[]
}

/**
 * Several metric families read the same view (four read the listeners), and the views are computed
 * on request. prom-client calls every `collect()` of a scrape in one synchronous pass before it
 * awaits anything, so a memo cleared on the next microtask is read once per scrape and never
 * serves a stale value to the next one. Were prom-client to change that, the cost would be extra
 * reads, never wrong numbers.
 */
export function createScrapeSnapshot(view: NodeView): ScrapeSnapshot {
  let stats: NodeStats | undefined
  let listeners: readonly ListenerStatus[] | undefined
  let routes: readonly RouteStatus[] | undefined
  let peers: readonly PeerStatus[] | undefined
  let clearQueued = false
  const clearAfterPass = (): void => {
    if (clearQueued) return
    clearQueued = true
    queueMicrotask(() => {
      stats = undefined
      listeners = undefined
      routes = undefined
      peers = undefined
      clearQueued = false
    })
  }
  return {
    stats() {
      clearAfterPass()
      stats ??= view.getStats()
      return stats
    },
    listeners() {
      clearAfterPass()
      listeners ??= view.getListeners()
      return listeners
    },
    routes() {
      clearAfterPass()
      routes ??= view.getRoutes()
      return routes
    },
    peers() {
      clearAfterPass()
      peers ??= view.getPeers()
      return peers
    },
  }
}
