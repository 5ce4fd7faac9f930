import {
  type Attempt,
  contentTypeMessage,
  crossSiteMessage,
  hostRefusedMessage,
  unauthorizedMessage,
  viewerTokenMessage,
} from './access.ts'
import { DynproxyError } from './base.ts'

function reasonOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause)
}

function errnoCode(cause: unknown): string | undefined {
  if (cause instanceof Error && 'code' in cause && typeof cause.code === 'string') return cause.code
  return undefined
}

const BIND_HINTS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'another process holds this port: stop it or change',
  EACCES: 'ports below 1024 need privileges: change',
  EADDRNOTAVAIL: 'the address is not on this host: change',
}

/** `scheduler.listen` (gRPC for nodes) or `scheduler.api` (REST) could not be bound. */
export class SchedulerBindError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_BIND'
  constructor(key: string, address: string, cause: unknown) {
    const hint = BIND_HINTS[errnoCode(cause) ?? '']
    super(
      `failed to bind ${key} to ${address}: ${reasonOf(cause)} (hint: ${hint ? `${hint} ${key}` : `check ${key}`})`,
      { cause },
    )
  }
}

export class SchedulerStoreReadError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_STORE_READ'
  constructor(file: string, cause: unknown) {
    super(
      `cannot read scheduler state ${file}: ${reasonOf(cause)} ` +
        '(hint: restore it from a backup, or move it away to start afresh with new versions and a new signing key)',
      { cause },
    )
  }
}

export class SchedulerStoreWriteError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_STORE_WRITE'
  constructor(file: string, cause: unknown) {
    super(
      `cannot write scheduler state ${file}: ${reasonOf(cause)} (hint: check the directory exists, is writable and has space)`,
      { cause },
    )
  }
}

export class SchedulerHelloRequiredError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_HELLO_REQUIRED'
  constructor(got: string) {
    super(
      `expected hello as the first message of the stream, got ${got} (hint: the node must say hello first)`,
    )
  }
}

export class SchedulerHelloInvalidError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_HELLO_INVALID'
  constructor(reason: string) {
    super(`invalid hello: ${reason}`)
  }
}

export class SchedulerNodeTimeoutError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_NODE_TIMEOUT'
  constructor(nodeId: string, silentMs: number) {
    super(
      `node ${nodeId} sent nothing for ${silentMs}ms, more than 3 heartbeat intervals: disconnected ` +
        '(hint: the node is hung or its network is cut; it reconnects when it recovers)',
    )
  }
}

export class SchedulerNodeSupersededError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_NODE_SUPERSEDED'
  constructor(nodeId: string) {
    super(
      `node ${nodeId} connected again on another stream, which replaces this one ` +
        '(hint: if this repeats, two nodes share the id common.node_id)',
    )
  }
}

export class SchedulerStoppingError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_STOPPING'
  constructor() {
    super('the scheduler is stopping (hint: reconnect to another replica or once it is back)')
  }
}

export class SchedulerServiceNotFoundError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_SERVICE_NOT_FOUND'
  constructor(name: string) {
    super(`no service named ${JSON.stringify(name)} (hint: GET /services lists them)`)
  }
}

export class SchedulerServiceInvalidError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_SERVICE_INVALID'
  readonly problems: readonly string[]
  constructor(name: string, problems: readonly string[]) {
    super(`invalid service ${JSON.stringify(name)}: ${problems.join('; ')}`)
    this.problems = problems
  }
}

export class SchedulerApiBadRequestError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_API_BAD_REQUEST'
  constructor(method: string, path: string, detail: string) {
    super(`bad request ${method} ${path}: ${detail}`)
  }
}

export class SchedulerApiNotFoundError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_API_NOT_FOUND'
  constructor(method: string, path: string) {
    super(`no scheduler api endpoint for ${method} ${path} (hint: see docs/scheduler.md for the endpoints)`)
  }
}

export class SchedulerApiUnauthorizedError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_API_UNAUTHORIZED'
  constructor(attempt: Attempt, tokenSent: boolean, tokenHint: string) {
    super(unauthorizedMessage(attempt, tokenSent, tokenHint))
  }
}

export class SchedulerApiForbiddenError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_API_FORBIDDEN'
  constructor(attempt: Attempt, operatorHint: string) {
    super(viewerTokenMessage(attempt, operatorHint))
  }
}

export class SchedulerApiHostRefusedError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_API_HOST_REFUSED'
  constructor(attempt: Attempt, host: string) {
    super(hostRefusedMessage(attempt, host, 'scheduler.api_hosts'))
  }
}

export class SchedulerApiCrossSiteError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_API_CROSS_SITE'
  constructor(attempt: Attempt, from: string) {
    super(crossSiteMessage(attempt, from))
  }
}

export class SchedulerApiContentTypeError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_API_CONTENT_TYPE'
  constructor(attempt: Attempt, contentType: string) {
    super(contentTypeMessage(attempt, contentType))
  }
}

export class SchedulerApiInternalError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_API_INTERNAL'
  constructor(method: string, path: string, cause: unknown) {
    super(`failed to serve ${method} ${path}: ${reasonOf(cause)} (hint: the scheduler log has the stack)`, {
      cause,
    })
  }
}

export class SchedulerCtlRequestError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_CTL_REQUEST'
  constructor(url: string, reason: string) {
    super(`request to ${url} failed: ${reason} (hint: is the scheduler running? pass its api with --api URL)`)
  }
}

export class SchedulerCtlResponseError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_CTL_RESPONSE'
  readonly status: number
  constructor(url: string, status: number, detail: string) {
    super(`the scheduler refused ${url} with ${status}: ${detail}`)
    this.status = status
  }
}

export class SchedulerNodeNotFoundError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_NODE_NOT_FOUND'
  constructor(nodeId: string) {
    super(`no node named ${JSON.stringify(nodeId)} (hint: GET /nodes lists them)`)
  }
}

/** A directive goes down the node's stream, which only the replica it connected to holds. */
export class SchedulerNodeNotConnectedError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_NODE_NOT_CONNECTED'
  readonly replica: string | undefined
  constructor(nodeId: string, replica?: string) {
    super(
      replica === undefined
        ? `node ${nodeId} is not connected (hint: GET /nodes shows when it left and why)`
        : `node ${nodeId} is connected to scheduler replica ${replica}, not to this one (hint: send the request to ${replica}'s api)`,
    )
    this.replica = replica
  }
}

export class SchedulerNodeNoLinksError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_NODE_NO_LINKS'
  constructor(nodeId: string) {
    super(
      `node ${nodeId} has reported no links to probe (hint: name them: {"peers": ["b"]}, or wait for its first report)`,
    )
  }
}
