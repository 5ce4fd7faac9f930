/**
 * Why a connection closed, as its owner needs to know it:
 * - `peer`: an orderly end, both directions finished (FIN both ways);
 * - `reset`: the peer reset it, a write found it dead, or one of our handlers failed on it;
 * - `idle`: an idle sweep (or a TLS handshake deadline) closed it;
 * - `local`: its owner closed or reset it, or its listener was stopped with its connections.
 */
export type CloseCause = 'peer' | 'reset' | 'idle' | 'local'

/**
 * Bun reports every network error only as the error argument of `close` (ECONNRESET, EPIPE,
 * ETIMEDOUT…); a graceful close has none. A cause we set before closing the socket ourselves wins.
 */
export function closeCauseOf(error: Error | undefined, ours: CloseCause | undefined): CloseCause {
  if (ours !== undefined) return ours
  return error === undefined ? 'peer' : 'reset'
}
