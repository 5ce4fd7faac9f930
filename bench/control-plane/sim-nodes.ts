/**
 * Simulated nodes: real gRPC clients of the scheduler (one HTTP/2 connection each), no proxy
 * behind them. Each says hello with one listener, ACKs every instruction set at once and keeps
 * only what the measurement reads, so thousands fit in the harness.
 */
import { create, type MessageInitShape } from '@bufbuild/protobuf'
import { createClient } from '@connectrpc/connect'
import { createWritableIterable } from '@connectrpc/connect/protocol'
import { createGrpcTransport } from '@connectrpc/connect-node'
import {
  type InstructionSet,
  type NodeMessage,
  NodeMessageSchema,
  type SchedulerMessage,
  TrafficSchedulerService,
} from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { HOST } from '../sys/net.ts'
import { LISTENER, type SyntheticLink } from './topology.ts'

export interface AckRecord {
  /** performance.now() when the ACK was written. */
  readonly atMs: number
  /** The first target of the first path of the first route; '' for a set without routes. */
  readonly target: string
}

export class SimNode {
  readonly id: string
  readonly acks: AckRecord[] = []
  ended = false
  error: unknown
  readonly #out = createWritableIterable<NodeMessage>()
  readonly #onSet: () => void

  constructor(grpcAddress: string, id: string, onSet: () => void) {
    this.id = id
    this.#onSet = onSet
    const client = createClient(
      TrafficSchedulerService,
      createGrpcTransport({ baseUrl: `http://${grpcAddress}` }),
    )
    this.#send({
      case: 'hello',
      value: {
        nodeId: id,
        region: 'bench',
        listeners: [{ name: LISTENER, bind: `${HOST}:1`, port: 1 }],
        capabilities: [],
      },
    })
    void this.#read(client.connect(this.#out))
  }

  async #read(stream: AsyncIterable<SchedulerMessage>): Promise<void> {
    try {
      for await (const m of stream) if (m.msg.case === 'instructions') this.#ack(m.msg.value)
    } catch (err) {
      this.error = err
    } finally {
      this.ended = true
    }
  }

  #ack(set: InstructionSet): void {
    this.#send({ case: 'ack', value: { version: set.version, nonce: set.nonce } })
    const target = set.routes[0]?.paths[0]?.targets[0]?.address ?? ''
    this.acks.push({ atMs: performance.now(), target })
    this.#onSet()
  }

  #send(msg: MessageInitShape<typeof NodeMessageSchema>['msg']): void {
    void this.#out.write(create(NodeMessageSchema, { msg })).catch(() => undefined)
  }

  heartbeat(): void {
    this.#send({ case: 'heartbeat', value: { sentAtMs: BigInt(Date.now()) } })
  }

  report(links: readonly SyntheticLink[]): void {
    this.#send({
      case: 'report',
      value: {
        sentAtMs: BigInt(Date.now()),
        links: links.map((l) => ({ peer: l.peer, up: true, rttMs: l.rttMs, jitterMs: 0, lossRatio: 0 })),
      },
    })
  }

  close(): void {
    this.#out.close()
  }
}

/** Every simulated node of one run, with the time the last set arrived at any of them. */
export class SimFleet {
  readonly nodes: SimNode[] = []
  lastSetAtMs = 0
  readonly #grpcAddress: string

  constructor(grpcAddress: string) {
    this.#grpcAddress = grpcAddress
  }

  add(id: string): SimNode {
    const node = new SimNode(this.#grpcAddress, id, () => {
      this.lastSetAtMs = performance.now()
    })
    this.nodes.push(node)
    return node
  }

  close(): void {
    for (const n of this.nodes) n.close()
  }
}
