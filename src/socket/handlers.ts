/**
 * Bun's handlers for open connections, one set shared by every socket: each finds its state in
 * `socket.data`, a Connection once the socket is ours.
 */
import type { SocketHandler } from 'bun'
import { Connection } from './connection.ts'
import type { BunSocket, SocketEvents } from './events.ts'
import { reportFault } from './faults.ts'

/** Bun's handlers for an open connection: shared by every socket, state found in `socket.data`. */
export const connectionHandlers = {
  binaryType: 'buffer',
  data(socket: BunSocket, chunk: Buffer) {
    socket.data.onSocketData(chunk)
  },
  drain(socket: BunSocket) {
    socket.data.onSocketDrain()
  },
  end(socket: BunSocket) {
    socket.data.onSocketEnd()
  },
  close(socket: BunSocket, error?: Error) {
    socket.data.onSocketClose(error)
  },
  // Without this handler an exception in any handler ends the process.
  error(socket: BunSocket, error: Error) {
    const events = socket.data
    if (events instanceof Connection) return events.onHandlerFault(error)
    reportFault(error)
    socket.terminate()
  },
} satisfies SocketHandler<SocketEvents, 'buffer'>
