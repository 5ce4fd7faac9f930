/**
 * Opening a data connection through the mesh: dial the first hop, send the open request, and
 * wait for the hop's status, which it sends only once its own downstream is up. So when this
 * resolves, the whole path works end to end, and not one client byte has been sent yet.
 */
import { MeshPathRefusedError } from '../errors/index.ts'
import type { Connection } from '../socket/connection.ts'
import { MAX_RESPONSE_HEADER_BYTES } from './wire/constants.ts'
import { readOpenResponse } from './wire/io.ts'
import { encodeOpenRequest, type OpenRequest } from './wire/request.ts'

export interface OpenThroughPeerOptions {
  readonly dial: (peer: string) => Promise<Connection>
  readonly token: string | undefined
  readonly now: () => number
  /** How long the whole path may take to answer. */
  readonly responseTimeoutMs: number
}

/** Resolves with the connection, detached: what the path sent after its `ok` waits in it. */
export async function openThroughPeer(
  firstHop: string,
  request: OpenRequest,
  options: OpenThroughPeerOptions,
): Promise<Connection> {
  const conn = await options.dial(firstHop)
  try {
    const auth = options.token === undefined ? undefined : { token: options.token, now: options.now() }
    conn.write(encodeOpenRequest(request, auth))
    const { response } = await readOpenResponse(conn, {
      maxBytes: MAX_RESPONSE_HEADER_BYTES,
      timeoutMs: options.responseTimeoutMs,
    })
    if (response.status !== 'ok') {
      const path = [firstHop, ...request.remainingPath].join(' → ')
      throw new MeshPathRefusedError(path, response.status, response.nodeId, response.message)
    }
    return conn
  } catch (err) {
    conn.closeNow()
    throw err
  }
}
