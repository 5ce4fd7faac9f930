import { DynproxyError } from './base.ts'

/**
 * Bytes on a data connection that are not a valid mesh header of a known version. The receiver
 * answers `bad_header` and closes; `field` names the part at fault for logs.
 */
export class MeshHeaderError extends DynproxyError {
  override readonly code = 'DYN_ERR_MESH_BAD_HEADER'
  readonly field: string
  constructor(field: string, problem: string, hint?: string) {
    super(`bad mesh header: ${field} ${problem}${hint ? ` (hint: ${hint})` : ''}`)
    this.field = field
  }
}

export class MeshVersionError extends DynproxyError {
  override readonly code = 'DYN_ERR_MESH_UNSUPPORTED_VERSION'
  readonly version: number
  constructor(version: number, supported: number) {
    super(
      `unsupported mesh protocol version ${version}, this node speaks ${supported} (hint: run the same dynproxy release on every node)`,
    )
    this.version = version
  }
}

/** A header this node was asked to send breaks a wire limit: a caller bug or an oversized path. */
export class MeshFieldError extends DynproxyError {
  override readonly code = 'DYN_ERR_MESH_INVALID_FIELD'
  readonly field: string
  constructor(field: string, problem: string, hint?: string) {
    super(`cannot encode mesh header: ${field} ${problem}${hint ? ` (hint: ${hint})` : ''}`)
    this.field = field
  }
}

export class MeshHeaderTimeoutError extends DynproxyError {
  override readonly code = 'DYN_ERR_MESH_HEADER_TIMEOUT'
  constructor(peer: string, timeoutMs: number, received: number) {
    super(
      `no complete mesh header from ${peer} within ${timeoutMs}ms (${received} bytes received; hint: is the peer a dynproxy node on the same version, and is the link up?)`,
    )
  }
}

export class MeshConnectionClosedError extends DynproxyError {
  override readonly code = 'DYN_ERR_MESH_CONNECTION_CLOSED'
  constructor(peer: string, received: number, options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(
      `data connection with ${peer} closed after ${received} bytes, before a complete mesh header${cause}`,
      options,
    )
  }
}

/** A hop of a mesh path answered with a refusal; `status` is the wire status it sent. */
export class MeshPathRefusedError extends DynproxyError {
  override readonly code = 'DYN_ERR_MESH_PATH_REFUSED'
  readonly status: string
  readonly refusedBy: string | undefined
  constructor(path: string, status: string, refusedBy: string | undefined, detail: string | undefined) {
    super(
      `path ${path}: refused by ${refusedBy ?? 'the next hop'} with ${status}${detail ? `: ${detail}` : ''}`,
    )
    this.status = status
    this.refusedBy = refusedBy
  }
}

/** Every path of a mesh route failed for one flow; the message lists why each did. */
export class MeshPathsUnavailableError extends DynproxyError {
  override readonly code = 'DYN_ERR_MESH_PATHS_UNAVAILABLE'
  /** The status to pass back when this node is itself a relay: the first refusal's, if any. */
  readonly status: string
  constructor(route: string, failures: readonly { path: string; error: Error }[]) {
    const list = failures.map((f) => `${f.path}: ${f.error.message}`).join('; ')
    super(`route "${route}": no path worked (${failures.length} tried): ${list}`)
    const refused = failures.map((f) => f.error).find((e) => e instanceof MeshPathRefusedError)
    this.status = refused?.status ?? 'target_unreachable'
  }
}

/** A relayed flow asked this node to route it by its ingress port, and no route takes that port. */
export class MeshNoRouteError extends DynproxyError {
  override readonly code = 'DYN_ERR_MESH_NO_ROUTE'
  constructor(nodeId: string, port: number) {
    super(
      `${nodeId} has no route for ingress port ${port} (hint: add a route matching port ${port} on ${nodeId})`,
    )
  }
}

/** A throughput probe of the link to a peer did not complete. */
export class MeshProbeError extends DynproxyError {
  override readonly code = 'DYN_ERR_MESH_PROBE'
  readonly peer: string
  readonly why: string
  constructor(peer: string, why: string, options?: ErrorOptions) {
    super(`throughput probe of peer "${peer}": ${why}`, options)
    this.peer = peer
    this.why = why
  }
}
