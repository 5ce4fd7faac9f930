/** The events Bun's shared socket handlers pass on to whatever a socket's `data` holds. */
import type { Socket } from 'bun'

/** What Bun's shared handlers call on `socket.data`. */
export interface SocketEvents {
  onSocketData(chunk: Buffer): void
  onSocketDrain(): void
  onSocketEnd(): void
  onSocketClose(error: Error | undefined): void
  onSocketHandshake(success: boolean, error: Error | null): void
}

export type BunSocket = Socket<SocketEvents>

/** `socket.data` of a socket we no longer own (refused at accept, dialed too late): events go nowhere. */
export const DETACHED: SocketEvents = {
  onSocketData() {},
  onSocketDrain() {},
  onSocketEnd() {},
  onSocketClose() {},
  onSocketHandshake() {},
}
