/**
 * The reference for where Bun starts: a relay on Bun.listen / Bun.connect with nothing else in
 * the way. `write()` says how much it took; the rest waits for the writer's `drain` with the
 * reader paused. A FIN is passed on once what came before it is written; an error or a close
 * without FIN resets the other side.
 * Usage: bun bun-pipe-proxy.ts LISTEN_PORT TARGET_PORT (both on 127.0.0.1).
 */
import type { Socket } from 'bun'

interface Side {
  peer: Socket<Side> | undefined
  /** Bytes this socket has not taken yet, written on its drain. */
  backlog: Uint8Array | undefined
  /** A FIN to send once the backlog is written. */
  finPending: boolean
  failed: boolean
}

const [listenPort, targetPort] = process.argv.slice(2).map(Number)
const hostname = '127.0.0.1'

function side(peer?: Socket<Side>): Side {
  return { peer, backlog: undefined, finPending: false, failed: false }
}

/** Writes to `to` what it takes; keeps the rest and pauses `from` until `to` drains. */
function forward(from: Socket<Side>, to: Socket<Side>, bytes: Uint8Array): void {
  const taken = to.write(bytes)
  if (taken === bytes.length || taken < 0) return
  to.data.backlog = bytes.slice(taken)
  from.pause()
}

const handlers = {
  data(socket: Socket<Side>, bytes: Uint8Array) {
    const peer = socket.data.peer
    if (peer !== undefined) forward(socket, peer, bytes)
  },
  drain(socket: Socket<Side>) {
    const backlog = socket.data.backlog
    if (backlog === undefined) return
    const taken = socket.write(backlog)
    if (taken >= 0 && taken < backlog.length) {
      socket.data.backlog = backlog.subarray(taken)
      return
    }
    socket.data.backlog = undefined
    if (socket.data.finPending) socket.shutdown()
    socket.data.peer?.resume()
  },
  end(socket: Socket<Side>) {
    const peer = socket.data.peer
    if (peer === undefined) return
    // shutdown() sends the FIN and keeps reading; end() would close the socket.
    if (peer.data.backlog === undefined) peer.shutdown()
    else peer.data.finPending = true
  },
  error(socket: Socket<Side>) {
    socket.data.failed = true
  },
  close(socket: Socket<Side>) {
    const peer = socket.data.peer
    if (peer === undefined || peer.readyState <= 0) return
    if (socket.data.failed) peer.terminate()
    else if (peer.data.backlog === undefined) peer.end()
  },
}

Bun.listen<Side>({
  hostname,
  port: listenPort as number,
  allowHalfOpen: true,
  socket: {
    ...handlers,
    open(down) {
      down.data = side()
      down.pause()
      Bun.connect<Side>({
        hostname,
        port: targetPort as number,
        allowHalfOpen: true,
        data: side(down),
        socket: {
          ...handlers,
          open(up) {
            down.data.peer = up
            down.resume()
          },
          connectError() {
            down.terminate()
          },
        },
      }).catch(() => down.terminate())
    },
  },
})
console.log(`listening on ${hostname}:${listenPort}`)
