/**
 * Who may talk to the scheduler, and how much: node certificates, join tokens, bindings of node
 * ids to keys (both ends), and the bounds on what a node may send.
 */
import { DynproxyError } from './base.ts'

const JOIN_HINT =
  'the scheduler prints its join token at first start; dynproxy scheduler --print-join-token prints it again'

/** A node stream or Resolve arrived without a client certificate from the mesh CA. */
export class SchedulerNoCertificateError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_NO_CERT'
  constructor(address: string, reason: string) {
    super(
      `a client at ${address} has no valid node certificate: ${reason} ` +
        `(hint: set scheduler.join_token on the node, or scheduler.tls with a certificate from the mesh CA; ${JOIN_HINT})`,
    )
  }
}

/** A hello or Resolve named another node than the client certificate stands for. */
export class SchedulerIdentityError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_IDENTITY'
  constructor(what: string, claimed: string, certified: string) {
    super(
      `${what} names node ${JSON.stringify(claimed)}, but the client certificate stands for ${JSON.stringify(certified)} ` +
        '(hint: common.node_id must be the id the node joined with)',
    )
  }
}

/** A node id already belongs to another key: a join or a connection with a different key. */
export class SchedulerNodeBoundError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_NODE_BOUND'
  constructor(nodeId: string) {
    super(
      `node id ${JSON.stringify(nodeId)} is bound to another key (hint: if that node was replaced on purpose, ` +
        `remove the binding with dynproxy ctl unbind ${nodeId}, then join again)`,
    )
  }
}

/** A key an operator unbound from its node id: it acts for no node any more. */
export class SchedulerKeyRevokedError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_KEY_REVOKED'
  constructor(nodeId: string) {
    super(
      `the key of this certificate for node ${JSON.stringify(nodeId)} was revoked when an operator unbound the node id ` +
        `(hint: the node that replaces it joins with the join token and a key of its own: a state_dir without scheduler-tls/)`,
    )
  }
}

/** A join without a valid join token (or the certificate of the node it renews). */
export class SchedulerJoinDeniedError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_JOIN_DENIED'
  constructor(nodeId: string, reason: string) {
    super(`join as node ${JSON.stringify(nodeId)} refused: ${reason} (hint: ${JOIN_HINT})`)
  }
}

/** A join asked of a scheduler that runs with `scheduler.insecure`: it has no CA. */
export class SchedulerInsecureJoinError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_INSECURE'
  constructor() {
    super(
      'this scheduler runs with scheduler.insecure and issues no certificates ' +
        '(hint: set scheduler.insecure on the node too, or remove it from the scheduler)',
    )
  }
}

/** The certificate request of a join is unusable. */
export class SchedulerCsrError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_CSR'
  constructor(reason: string, options?: ErrorOptions) {
    super(
      `invalid certificate request: ${reason} (hint: the node makes it; are node and scheduler the same version?)`,
      options,
    )
  }
}

/** The server a node dialed is no scheduler of this mesh: its certificate lacks the scheduler identity. */
export class SchedulerPeerIdentityError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_NOT_SCHEDULER'
  constructor(commonName: string | undefined) {
    super(
      `the server's certificate (CN ${JSON.stringify(commonName ?? null)}) is not a scheduler's: it lacks the URI spiffe://dynproxy/scheduler ` +
        '(hint: check scheduler.address; a certificate of your own PKI needs that URI)',
    )
  }
}

/** The scheduler presented no CA whose fingerprint is the one in the join token. */
export class SchedulerCaMismatchError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_CA_MISMATCH'
  constructor(address: string, expected: string) {
    super(
      `the scheduler at ${address} is not signed by the CA of the join token (sha256 ${expected.slice(0, 16)}…) ` +
        "(hint: check scheduler.address, or use the token of that scheduler; a scheduler's CA changes only if its state was wiped)",
    )
  }
}

/** `scheduler.join_token` is not a token as the scheduler prints it. */
export class SchedulerJoinTokenError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_TOKEN_INVALID'
  constructor(reason: string) {
    super(`invalid join token: ${reason} (hint: ${JOIN_HINT})`)
  }
}

/** A node has a scheduler to reach but no way to prove who it is. */
export class SchedulerNoCredentialsError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_NO_CREDENTIALS'
  constructor(address: string) {
    super(
      `no credentials for the scheduler at ${address}: set scheduler.join_token, or scheduler.tls {cert, key, ca} ` +
        `(hint: ${JOIN_HINT}; scheduler.insecure: true only for a plaintext scheduler on loopback)`,
    )
  }
}

/** A node's join (or renewal) failed; it retries with its reconnect backoff. */
export class SchedulerJoinError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_JOIN_FAILED'
  constructor(address: string, reason: string, options?: ErrorOptions) {
    super(`joining the scheduler at ${address} failed: ${reason}`, options)
  }
}

/** A node's certificate, key or CA, or the scheduler's join-token file, cannot be read or written. */
export class SchedulerCredentialsFileError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_AUTH_STATE'
  constructor(file: string, reason: string, options?: ErrorOptions) {
    super(`cannot use ${file}: ${reason} (hint: is its state_dir writable by this user only?)`, options)
  }
}

/** One source address holds as many connections or streams as `scheduler.max_streams_per_address`. */
export class SchedulerStreamLimitError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_LIMIT_STREAMS'
  constructor(address: string, limit: number) {
    super(
      `${address} already has ${limit} streams open to this scheduler (hint: raise scheduler.max_streams_per_address ` +
        'if many nodes share that address)',
    )
  }
}

/** A report (or heartbeat, ack, nack) broke a bound; `detail` names the field. */
export class SchedulerReportInvalidError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_REPORT_INVALID'
  constructor(nodeId: string, detail: string) {
    super(`invalid report from node ${nodeId}: ${detail}`)
  }
}

/** A Resolve from a node that has no stream open: the scheduler does not know its listeners. */
export class SchedulerResolveNoSessionError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_RESOLVE_NO_SESSION'
  constructor(nodeId: string) {
    super(
      `node ${JSON.stringify(nodeId)} asked to resolve a route without a stream open (hint: say hello first)`,
    )
  }
}
