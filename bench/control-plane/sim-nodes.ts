/**
 * Simulated nodes: real gRPC clients of the scheduler (one HTTP/2 connection each, mutual TLS with
 * a certificate for the node's id from the scheduler's CA), no proxy behind them. Each says hello with one listener, ACKs every instruction set at once and keeps
 * only what the measurement reads, so thousands fit in the harness.
 */
import type http2 from 'node:http2'
import { create, type MessageInitShape, toBinary } from '@bufbuild/protobuf'
import {
  NodeMessageSchema,
  TrafficSchedulerService,
} from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { type NodeCertificates, nodeSessionOptions } from '../../test/helpers/node-certs.ts'
import { HOST } from '../sys/net.ts'
import { GrpcStream } from './grpc-stream.ts'
import { digestInstructions, type SetDigest } from './set-digest.ts'
import { LISTENER, type SyntheticLink } from './topology.ts'

const CONNECT_PATH = `/${TrafficSchedulerService.typeName}/${TrafficSchedulerService.method.connect.name}`

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
  readonly #stream: GrpcStream
  readonly #onSet: () => void

  constructor(
    grpcAddress: string,
    id: string,
    region: string,
    tls: Promise<http2.SecureClientSessionOptions | undefined>,
    onSet: () => void,
  ) {
    this.id = id
    this.#onSet = onSet
    this.#stream = new GrpcStream(grpcAddress, CONNECT_PATH, tls, {
      onMessage: (bytes) => {
        const set = digestInstructions(bytes)
        if (set) this.#ack(set)
      },
      onEnd: (error) => {
        this.error = error
        this.ended = true
      },
    })
    this.#send({
      case: 'hello',
      value: {
        nodeId: id,
        region,
        listeners: [{ name: LISTENER, bind: `${HOST}:1`, port: 1 }],
        capabilities: [],
      },
    })
  }

  #ack(set: SetDigest): void {
    const version = { epoch: set.epoch, counter: set.counter }
    this.#send({ case: 'ack', value: { version, nonce: set.nonce } })
    this.acks.push({ atMs: performance.now(), target: set.target })
    this.#onSet()
  }

  #send(msg: MessageInitShape<typeof NodeMessageSchema>['msg']): void {
    this.#stream.write(toBinary(NodeMessageSchema, create(NodeMessageSchema, { msg })))
  }

  heartbeat(): void {
    this.#send({ case: 'heartbeat', value: { sentAtMs: BigInt(Date.now()) } })
  }

  report(links: readonly SyntheticLink[]): void {
    this.#send({
      case: 'report',
      value: {
        sentAtMs: BigInt(Date.now()),
        links: links.map((l) => ({
          peer: l.peer,
          up: true,
          rttMs: l.rttMs,
          jitterMs: 0,
          lossRatio: 0,
          throughputBps: l.throughputBps,
        })),
      },
    })
  }

  close(): void {
    this.#stream.close()
  }
}

/** Every simulated node of one run, with the time the last set arrived at any of them. */
export class SimFleet {
  readonly nodes: SimNode[] = []
  lastSetAtMs = 0
  readonly #grpcAddress: string
  readonly #certs: NodeCertificates | undefined

  /** `certs` undefined: the scheduler runs `insecure` and the nodes speak plaintext. */
  constructor(grpcAddress: string, certs: NodeCertificates | undefined) {
    this.#grpcAddress = grpcAddress
    this.#certs = certs
  }

  add(id: string, region: string): SimNode {
    const tls = this.#certs ? this.#certs.of(id).then(nodeSessionOptions) : Promise.resolve(undefined)
    const node = new SimNode(this.#grpcAddress, id, region, tls, () => {
      this.lastSetAtMs = performance.now()
    })
    this.nodes.push(node)
    return node
  }

  close(): void {
    for (const n of this.nodes) n.close()
  }
}
