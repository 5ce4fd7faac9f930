/**
 * The egress of multipath flows: the first subflow of a flow id connects the target and starts the
 * framed session whose local side it is; every subflow, first or later, joins that session.
 */
import type { Socket } from 'node:net'
import type { ListenerRef } from '../flow/flow.ts'
import { FramedSession } from '../multipath/index.ts'
import { connectTcp } from '../upstream/index.ts'
import { splitHostPort } from '../util/host-port.ts'
import type { MeshStatus, MultipathModeName } from './wire/constants.ts'
import { writeResponse } from './wire/io.ts'
import type { DecodedOpenRequest } from './wire/request.ts'

export interface FramedEgressDeps {
  readonly nodeId: string
  readonly connectTimeoutMs: number
  /** Multipath flows are counted under the relayed flows' pseudo-listener. */
  readonly listener: ListenerRef & { readonly counters: { total: number } }
  readonly refusals: Record<MeshStatus, number>
}

export class FramedEgress {
  readonly #deps: FramedEgressDeps
  /** Flows this node is the egress of, by flow id, while their target connect is pending or after. */
  readonly #sessions = new Map<string, Promise<FramedSession>>()

  constructor(deps: FramedEgressDeps) {
    this.#deps = deps
  }

  /** Answers the subflow (ok, or why not) and joins it to its flow's session. */
  async join(socket: Socket, request: DecodedOpenRequest): Promise<void> {
    const { nodeId, refusals } = this.#deps
    const target = request.target
    if (target === undefined) {
      refusals.no_route++
      writeResponse(socket, 'no_route', 'a multipath flow must name its target', nodeId)
      socket.end()
      return
    }
    const key = request.flowId.toString('hex')
    let pending = this.#sessions.get(key)
    if (pending === undefined) {
      pending = this.#start(key, target, request.multipathMode ?? 'stripe')
      this.#sessions.set(key, pending)
    }
    let session: FramedSession
    try {
      session = await pending
    } catch (err) {
      refusals.target_unreachable++
      writeResponse(socket, 'target_unreachable', (err as Error).message, nodeId)
      socket.end()
      return
    }
    writeResponse(socket, 'ok')
    if (!session.addSubflow(socket, request.subflowIndex)) socket.destroy()
  }

  /** Ends every session this node is the egress of. */
  close(): void {
    for (const pending of this.#sessions.values()) {
      pending.then(
        (session) => session.destroy(),
        () => {},
      )
    }
  }

  async #start(key: string, target: string, mode: MultipathModeName): Promise<FramedSession> {
    const counters = this.#deps.listener.counters
    try {
      const { host, port } = splitHostPort(target)
      const local = await connectTcp(host, port, this.#deps.connectTimeoutMs)
      const session = new FramedSession({ local, mode })
      counters.total++
      counters.active++
      session.once('close', () => {
        this.#sessions.delete(key)
        counters.active--
      })
      return session
    } catch (err) {
      this.#sessions.delete(key)
      throw err
    }
  }
}
