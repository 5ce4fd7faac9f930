/**
 * What a node's stream carries after its hello, handed to the core, and the core's errors as
 * gRPC statuses: shared by both ways a stream is served (node-stream.ts, and grpc.ts's adapter).
 */
import { Code, ConnectError } from '@connectrpc/connect'
import { DynproxyError } from '../errors/base.ts'
import { SchedulerReportInvalidError } from '../errors/scheduler-auth.ts'
import type { NodeMessage } from '../gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import type { NodeSession, SchedulerCore } from './core.ts'
import { nackReason, reportProblem } from './limits.ts'
import { linkFromProto, loadFromProto, routeFromProto, versionFromProto } from './proto.ts'

const CODE_OF: Readonly<Record<string, Code>> = {
  DYN_ERR_SCHEDULER_HELLO_REQUIRED: Code.InvalidArgument,
  DYN_ERR_SCHEDULER_HELLO_INVALID: Code.InvalidArgument,
  DYN_ERR_SCHEDULER_REPORT_INVALID: Code.InvalidArgument,
  DYN_ERR_SCHEDULER_AUTH_CSR: Code.InvalidArgument,
  DYN_ERR_SCHEDULER_AUTH_NO_CERT: Code.Unauthenticated,
  DYN_ERR_SCHEDULER_AUTH_JOIN_DENIED: Code.Unauthenticated,
  DYN_ERR_SCHEDULER_AUTH_IDENTITY: Code.PermissionDenied,
  DYN_ERR_SCHEDULER_AUTH_NODE_BOUND: Code.PermissionDenied,
  DYN_ERR_SCHEDULER_AUTH_KEY_REVOKED: Code.PermissionDenied,
  DYN_ERR_SCHEDULER_AUTH_INSECURE: Code.FailedPrecondition,
  DYN_ERR_SCHEDULER_RESOLVE_NO_SESSION: Code.FailedPrecondition,
  DYN_ERR_SCHEDULER_LIMIT_STREAMS: Code.ResourceExhausted,
  DYN_ERR_SCHEDULER_NODE_SUPERSEDED: Code.Aborted,
  DYN_ERR_SCHEDULER_NODE_TIMEOUT: Code.Unavailable,
  DYN_ERR_SCHEDULER_STOPPING: Code.Unavailable,
}

/** The message starts with our code, so a node can log and match it. */
export function toConnectError(err: DynproxyError): ConnectError {
  return new ConnectError(`${err.code}: ${err.message}`, CODE_OF[err.code] ?? Code.Internal)
}

/** Any error as the status a node gets: ours with their code, the rest as `fallback`. */
export function asConnectError(err: unknown, fallback: Code): ConnectError {
  return err instanceof DynproxyError ? toConnectError(err) : ConnectError.from(err, fallback)
}

/** Hands one message to the core; throws SchedulerReportInvalidError for a report beyond the bounds. */
export function dispatch(core: SchedulerCore, s: NodeSession, msg: NodeMessage['msg']): void {
  switch (msg.case) {
    case 'heartbeat':
      core.heartbeat(s, loadFromProto(msg.value.load))
      break
    case 'report': {
      const problem = reportProblem(msg.value)
      if (problem !== undefined) throw new SchedulerReportInvalidError(s.nodeId, problem)
      core.report(
        s,
        msg.value.links.map(linkFromProto),
        loadFromProto(msg.value.load),
        msg.value.routes.map(routeFromProto),
      )
      break
    }
    case 'ack': {
      const version = versionFromProto(msg.value.version)
      if (version) core.ack(s, version)
      break
    }
    case 'nack': {
      const version = versionFromProto(msg.value.version)
      if (version) core.nack(s, version, nackReason(msg.value.error))
      break
    }
    default:
      // A second hello or an empty message: nothing to update; the stream stays up.
      break
  }
}
