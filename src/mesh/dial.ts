/** Opening one connection to a peer's mesh port: TCP, or TLS with both sides authenticated. */
import net, { type Socket } from 'node:net'
import tls from 'node:tls'
import type { PeerConfig } from '../config/types.ts'
import { PeerDialError } from '../errors/peer.ts'
import { meshClientTlsOptions } from '../pki/tls-options.ts'
import { formatHostPort } from '../util/host-port.ts'
import type { PeerTlsOptions } from './peer-tls.ts'

export interface DialOptions {
  readonly peer: PeerConfig
  readonly tls?: PeerTlsOptions
  /** TCP connect plus TLS handshake. */
  readonly timeoutMs: number
  /** Aborting destroys the attempt; the promise rejects once its socket is closed. */
  readonly signal?: AbortSignal
}

export function peerAddress(peer: PeerConfig): string {
  return formatHostPort(peer.address.host, peer.address.port)
}

/**
 * Resolves with a connected (and, for TLS, handshaken) socket with noDelay set and no listener
 * of ours left on it; rejects with PeerDialError only after the failed socket has closed, so a
 * caller that awaits every dial leaves no handle behind.
 */
export function dialPeer(options: DialOptions): Promise<Socket> {
  const { peer, timeoutMs, signal } = options
  const address = peerAddress(peer)
  if (peer.type === 'tls' && options.tls === undefined) {
    return Promise.reject(
      new PeerDialError(peer.name, address, 'peer type is tls but this node has no mesh.tls configured'),
    )
  }
  if (signal?.aborted) return Promise.reject(new PeerDialError(peer.name, address, 'aborted'))
  return new Promise((resolve, reject) => {
    const { socket, ready } = open(peer, options.tls)
    const cleanup = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      socket.off(ready, onReady)
      socket.off('error', onError)
    }
    const fail = (cause: string, err?: Error) => {
      cleanup()
      const error = new PeerDialError(peer.name, address, cause, err ? { cause: err } : undefined)
      socket.on('error', () => {})
      if (socket.closed) return reject(error)
      socket.once('close', () => reject(error))
      socket.destroy()
    }
    const onError = (err: NodeJS.ErrnoException) => fail(err.code ?? err.message, err)
    const onAbort = () => fail('aborted')
    const onReady = () => {
      cleanup()
      socket.setNoDelay(true)
      resolve(socket)
    }
    const timer = setTimeout(() => fail(`timed out after ${timeoutMs}ms`), timeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })
    socket.once('error', onError)
    socket.once(ready, onReady)
  })
}

function open(peer: PeerConfig, tlsOptions: PeerTlsOptions | undefined): { socket: Socket; ready: string } {
  const { host, port } = peer.address
  if (peer.type === 'tcp' || tlsOptions === undefined) {
    return { socket: net.connect({ host, port, allowHalfOpen: true }), ready: 'connect' }
  }
  // tls.connect passes allowHalfOpen on to its TLSSocket; @types/node does not list it. The TCP
  // socket is opened here, not by tls.connect, so that a flow can reset it (util/tcp-socket.ts).
  const options: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
    ...meshClientTlsOptions(tlsOptions, peer.name),
    socket: net.connect({ host, port, allowHalfOpen: true }),
    allowHalfOpen: true,
  }
  return { socket: tls.connect(options), ready: 'secureConnect' }
}
