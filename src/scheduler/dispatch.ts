/**
 * What a node's stream carries after its hello, handed to the core, and the core's errors as
 * gRPC statuses: shared by both ways a stream is served (node-stream.ts, and grpc.ts's adapter).
 */
import { Code, ConnectError } from '@connectrpc/connect'
import type { DynproxyError } from '../errors/base.ts'
import type { NodeMessage } from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import type { NodeSession, SchedulerCore } from './core.ts'
import { linkFromProto, loadFromProto, routeFromProto, versionFromProto } from './proto.ts'

const CODE_OF: Readonly<Record<string, Code>> = {
  DYN_ERR_SCHEDULER_HELLO_REQUIRED: Code.InvalidArgument,
  DYN_ERR_SCHEDULER_HELLO_INVALID: Code.InvalidArgument,
  DYN_ERR_SCHEDULER_NODE_SUPERSEDED: Code.Aborted,
  DYN_ERR_SCHEDULER_NODE_TIMEOUT: Code.Unavailable,
  DYN_ERR_SCHEDULER_STOPPING: Code.Unavailable,
}

/** The message starts with our code, so a node can log and match it. */
export function toConnectError(err: DynproxyError): ConnectError {
  return new ConnectError(`${err.code}: ${err.message}`, CODE_OF[err.code] ?? Code.Internal)
}

export function dispatch(core: SchedulerCore, s: NodeSession, msg: NodeMessage['msg']): void {
  switch (msg.case) {
    case 'heartbeat':
      core.heartbeat(s, loadFromProto(msg.value.load))
      break
    case 'report':
      core.report(
        s,
        msg.value.links.map(linkFromProto),
        loadFromProto(msg.value.load),
        msg.value.routes.map(routeFromProto),
      )
      break
    case 'ack': {
      const version = versionFromProto(msg.value.version)
      if (version) core.ack(s, version)
      break
    }
    case 'nack': {
      const version = versionFromProto(msg.value.version)
      if (version) core.nack(s, version, msg.value.error)
      break
    }
    default:
      // A second hello or an empty message: nothing to update; the stream stays up.
      break
  }
}
