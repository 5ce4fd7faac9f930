/**
 * Opening a data connection through the mesh: dial the first hop, send the open request, and
 * wait for the hop's status, which it sends only once its own downstream is up. So when this
 * resolves, the whole path works end to end, and not one client byte has been sent yet.
 */
import type { Socket } from 'node:net'
import { MeshPathRefusedError } from '../errors/index.ts'
import { MAX_RESPONSE_HEADER_BYTES } from './wire/constants.ts'
import { readOpenResponse } from './wire/io.ts'
import { encodeOpenRequest, type OpenRequest } from './wire/request.ts'

export interface OpenThroughPeerOptions {
  readonly dial: (peer: string) => Promise<Socket>
  readonly token: string | undefined
  readonly now: () => number
  /** How long the whole path may take to answer. */
  readonly responseTimeoutMs: number
}

export async function openThroughPeer(
  firstHop: string,
  request: OpenRequest,
  options: OpenThroughPeerOptions,
): Promise<Socket> {
  const socket = await options.dial(firstHop)
  const swallow = () => {}
  // Until the caller takes over the socket, an error must not go unhandled.
  socket.on('error', swallow)
  try {
    const auth = options.token === undefined ? undefined : { token: options.token, now: options.now() }
    socket.write(encodeOpenRequest(request, auth))
    const { response } = await readOpenResponse(socket, {
      maxBytes: MAX_RESPONSE_HEADER_BYTES,
      timeoutMs: options.responseTimeoutMs,
    })
    if (response.status !== 'ok') {
      const path = [firstHop, ...request.remainingPath].join(' → ')
      throw new MeshPathRefusedError(path, response.status, response.nodeId, response.message)
    }
    return socket
  } catch (err) {
    socket.destroy()
    throw err
  } finally {
    socket.off('error', swallow)
  }
}
