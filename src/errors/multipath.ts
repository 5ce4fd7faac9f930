import { DynproxyError } from './base.ts'

/** Bytes on a framed subflow that are not a valid frame: the whole session is reset. */
export class MultipathFrameError extends DynproxyError {
  override readonly code = 'DYN_ERR_MULTIPATH_BAD_FRAME'
  constructor(problem: string) {
    super(
      `bad multipath frame: ${problem} (hint: both ends must run the same dynproxy release; a subflow carries frames only after its mesh header)`,
    )
  }
}

/** Well-formed frames that break the session's rules: data beyond the granted credit, an ack of unsent bytes. */
export class MultipathProtocolError extends DynproxyError {
  override readonly code = 'DYN_ERR_MULTIPATH_PROTOCOL'
  constructor(problem: string) {
    super(`multipath protocol violation: ${problem} (hint: the peer is not a conforming dynproxy node)`)
  }
}

/** The far end reset the session; `reason` is the wire reason it sent. */
export class MultipathPeerResetError extends DynproxyError {
  override readonly code = 'DYN_ERR_MULTIPATH_PEER_RESET'
  readonly reason: string
  constructor(reason: string) {
    super(`the far end reset the multipath session: ${reason}`)
    this.reason = reason
  }
}

/** Every subflow was gone for longer than the grace period: the flow cannot continue. */
export class MultipathSubflowsLostError extends DynproxyError {
  override readonly code = 'DYN_ERR_MULTIPATH_SUBFLOWS_LOST'
  constructor(graceMs: number, lost: number) {
    super(
      `all ${lost} subflows of the multipath session were lost and none came back within ${graceMs}ms (hint: check the relays on the flow's paths and the links between them)`,
    )
  }
}

/** One subflow received nothing, not even a pong, for longer than the timeout; it is dropped. */
export class MultipathSubflowTimeoutError extends DynproxyError {
  override readonly code = 'DYN_ERR_MULTIPATH_SUBFLOW_TIMEOUT'
  constructor(index: number, silentMs: number) {
    super(
      `subflow ${index} was silent for ${Math.round(silentMs)}ms and is dropped (hint: a relay on its path hangs or the link drops packets; its chunks are re-sent on the other subflows)`,
    )
  }
}

/** The local socket (the client at the ingress, the target at the egress) failed or was reset. */
export class MultipathLocalError extends DynproxyError {
  override readonly code = 'DYN_ERR_MULTIPATH_LOCAL_FAILED'
  constructor(side: string, options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(`the local side of the multipath session ${side}${cause}`, options)
  }
}

/** A session option is out of range. */
export class MultipathOptionError extends DynproxyError {
  override readonly code = 'DYN_ERR_MULTIPATH_INVALID_OPTION'
  readonly option: string
  constructor(option: string, value: unknown, expected: string) {
    super(`multipath session option ${option}=${String(value)} is invalid: expected ${expected}`)
    this.option = option
  }
}
