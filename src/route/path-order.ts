/**
 * Local failover: the order in which a mesh route's paths are tried for a new flow. Configured
 * order, except that a path whose first hop is known to be down goes after every other path, so
 * new flows stop using a dead relay as soon as its peer is seen down, yet still try it when
 * nothing else is left.
 */
import type { PeerState } from '../views/node-view.ts'

export function orderPaths<P extends { readonly via: readonly string[] }>(
  paths: readonly P[],
  peerState: (peer: string) => PeerState | undefined,
): P[] {
  const alive: P[] = []
  const down: P[] = []
  for (const path of paths) {
    const first = path.via[0]
    if (first !== undefined && peerState(first) === 'down') down.push(path)
    else alive.push(path)
  }
  return down.length === 0 ? alive : [...alive, ...down]
}
