/**
 * A key revoked by an operator (on this replica or another, through the store's watch) stops
 * acting at once: the connections made with it are destroyed, since a connection is admitted
 * once (gate.ts) and would otherwise keep its node stream until it reconnected.
 */
import type { Http2Session } from 'node:http2'
import type { Logger } from '../../log/logger.ts'
import { peerOf } from './peer.ts'

/** Destroys the connections whose certificate holds `keyHash`; returns how many. */
export function cutRevokedSessions(
  sessions: Iterable<Http2Session>,
  keyHash: string,
  logger: Logger,
): number {
  let cut = 0
  for (const session of sessions) {
    const peer = peerOf(session, false)
    if (peer.kind !== 'node' || peer.keyHash !== keyHash) continue
    logger.warn({ node: peer.nodeId, address: peer.address }, 'closing a connection whose key was revoked')
    session.destroy()
    cut++
  }
  return cut
}
