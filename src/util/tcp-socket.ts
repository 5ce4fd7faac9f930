/**
 * The TCP connection under a socket, for what only TCP can do: a reset (SO_LINGER 0), and telling
 * apart the connections a server accepted before any TLS work. A TLS socket's own handle is not a
 * TCP one (Node throws ERR_INVALID_HANDLE_TYPE on `resetAndDestroy`): Node keeps the TCP socket it
 * wraps as `_parent` (a server's accepted sockets, and a client's opened with `socket:`), and Bun
 * gives a client's the same, while Bun's accepted TLS socket is itself the TCP one.
 */
import net, { type Socket } from 'node:net'

export function tcpSocketOf(socket: Socket): Socket {
  const parent = (socket as Socket & { readonly _parent?: unknown })._parent
  return parent instanceof net.Socket ? parent : socket
}

/**
 * Ends the connection with a reset, so that its peer cannot take it for an orderly end. Never
 * throws: a TLS socket with no TCP socket of its own to reset (one Node opened by itself) is closed.
 */
export function resetConnection(socket: Socket): void {
  if (socket.destroyed) return
  const tcp = tcpSocketOf(socket)
  // Node answers a reset of a closed socket with an 'error' event that nobody may be listening for.
  if (tcp.destroyed) return void socket.destroy()
  try {
    tcp.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}
