/**
 * What a peer may do on the scheduler's gRPC port, decided once per connection: a node stream or
 * a Resolve needs a node certificate whose key is the one its node id is bound to (the first
 * key that joined or connected with it); a hello must name that node. With `insecure` anyone
 * passes and the hello's id is taken as said.
 */
import { SchedulerHelloInvalidError } from '../../errors/scheduler.ts'
import { SchedulerIdentityError, SchedulerNoCertificateError } from '../../errors/scheduler-auth.ts'
import type { Hello } from '../../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { helloProblem } from '../limits.ts'
import { helloFromProto } from '../proto.ts'
import type { NodeHello } from '../registry.ts'
import type { SchedulerStore } from '../store/types.ts'
import { requireBinding } from './join.ts'
import type { Peer } from './peer.ts'

export class NodeGate {
  readonly #store: SchedulerStore | undefined
  /** Peers admitted: a connection is checked once, however many streams and calls it carries. */
  readonly #admitted = new WeakSet<Peer>()

  /** `store` undefined: insecure, every peer passes. */
  constructor(store: SchedulerStore | undefined) {
    this.#store = store
  }

  /** Throws when the peer may not act for a node (no certificate, or a key its id is not bound to). */
  async admit(peer: Peer): Promise<void> {
    if (peer.kind === 'insecure' || this.#admitted.has(peer)) return
    if (peer.kind === 'anonymous') throw new SchedulerNoCertificateError(peer.address, peer.reason)
    if (this.#store) await requireBinding(this.#store, peer.nodeId, peer.keyHash)
    this.#admitted.add(peer)
  }

  /** The node a hello introduces, checked against its bounds and the peer's certificate. */
  hello(hello: Hello, peer: Peer): NodeHello {
    const problem = helloProblem(hello)
    if (problem !== undefined) throw new SchedulerHelloInvalidError(problem)
    if (peer.kind === 'node' && hello.nodeId !== peer.nodeId)
      throw new SchedulerIdentityError('the hello', hello.nodeId, peer.nodeId)
    return helloFromProto(hello)
  }

  /** The node a Resolve acts for: the certified one; a node id in the request must be that one. */
  resolver(requested: string, peer: Peer): string {
    if (peer.kind !== 'node') return requested
    if (requested !== '' && requested !== peer.nodeId)
      throw new SchedulerIdentityError('the resolve request', requested, peer.nodeId)
    return peer.nodeId
  }
}
