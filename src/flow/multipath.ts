/**
 * A flow carried over several paths at once: the client socket is the local side of a framed
 * session (src/multipath/) whose subflows are the paths' data connections. A lost subflow is
 * reopened with backoff while the flow lives; the session re-sends what it carried meanwhile.
 */
import type { Socket } from 'node:net'
import { FramedSession } from '../multipath/index.ts'
import { backoffMs } from '../util/backoff.ts'
import type { MultipathConnection } from './connection.ts'
import type { Flow } from './flow.ts'

const REOPEN_BASE_MS = 200
const REOPEN_MAX_MS = 5000

/** `prefix`: bytes the target receives before the client's (a PROXY protocol header). */
export function startMultipath(flow: Flow, conn: MultipathConnection, prefix?: Buffer): void {
  const session = new FramedSession({
    local: flow.downstream,
    ...(prefix && { prefix }),
    mode: conn.mode,
    ...(conn.weights && { weights: conn.weights }),
  })
  flow.multipath = session
  flow.state = 'established'
  let over = false
  session.once('close', () => {
    over = true
  })
  const reopen = (index: number, attempt: number): void => {
    const delay = backoffMs(attempt, REOPEN_BASE_MS, REOPEN_MAX_MS)
    setTimeout(() => {
      if (over) return
      conn.reopen(index).then(
        (socket: Socket) => {
          if (!session.addSubflow(socket, index)) socket.destroy()
        },
        () => reopen(index, attempt + 1),
      )
    }, delay).unref()
  }
  const opened = new Set(conn.subflows.map((s) => s.index))
  for (const { index, socket } of conn.subflows) session.addSubflow(socket, index)
  for (let index = 0; index < conn.pathCount; index++) if (!opened.has(index)) reopen(index, 0)
  session.on('subflowClosed', (index: number) => reopen(index, 0))
}

/**
 * The flow ended while its paths were opening: the subflows that answered are handed to a session
 * whose local side is already gone, so that it sends the far end a RESET. Closing them bare would
 * leave the egress waiting its grace time for them to come back, with the target connected.
 */
export function abandonMultipath(flow: Flow, conn: MultipathConnection): void {
  const session = new FramedSession({ local: flow.downstream, mode: conn.mode })
  for (const { index, socket } of conn.subflows) session.addSubflow(socket, index)
}
