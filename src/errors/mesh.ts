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
