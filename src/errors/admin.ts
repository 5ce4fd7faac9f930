import {
  type Attempt,
  contentTypeMessage,
  crossSiteMessage,
  hostRefusedMessage,
  unauthorizedMessage,
  viewerTokenMessage,
} from './access.ts'
import { DynproxyError } from './base.ts'

const BIND_HINTS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'another process holds this port: stop it or change common.admin_addr',
  EACCES: 'ports below 1024 need privileges: change common.admin_addr',
  EADDRNOTAVAIL: 'the address is not on this host: change common.admin_addr',
}

function errnoCode(cause: unknown): string | undefined {
  if (cause instanceof Error && 'code' in cause && typeof cause.code === 'string') return cause.code
  return undefined
}

export class AdminBindError extends DynproxyError {
  override readonly code = 'DYN_ERR_ADMIN_BIND'
  constructor(address: string, cause: unknown) {
    const code = errnoCode(cause)
    const message = cause instanceof Error ? cause.message : String(cause)
    // Bun's message does not name the errno; Node's does.
    const reason = code !== undefined && !message.includes(code) ? `${code}: ${message}` : message
    const hint = BIND_HINTS[code ?? ''] ?? 'check common.admin_addr'
    super(`failed to bind the admin api to ${address}: ${reason} (hint: ${hint})`, { cause })
  }
}

export class AdminNotFoundError extends DynproxyError {
  override readonly code = 'DYN_ERR_ADMIN_NOT_FOUND'
  constructor(method: string, path: string) {
    super(`no admin endpoint for ${method} ${path} (hint: see docs/admin-api.md for the endpoints)`)
  }
}

export class AdminMethodNotAllowedError extends DynproxyError {
  override readonly code = 'DYN_ERR_ADMIN_METHOD_NOT_ALLOWED'
  constructor(method: string, path: string, allowed: readonly string[]) {
    super(`method ${method} is not allowed on ${path} (hint: use ${allowed.join(' or ')})`)
  }
}

export class AdminBadRequestError extends DynproxyError {
  override readonly code = 'DYN_ERR_ADMIN_BAD_REQUEST'
  constructor(method: string, path: string, detail: string) {
    super(`bad request ${method} ${path}: ${detail}`)
  }
}

export class AdminUnauthorizedError extends DynproxyError {
  override readonly code = 'DYN_ERR_ADMIN_UNAUTHORIZED'
  constructor(attempt: Attempt, tokenSent: boolean, tokenHint: string) {
    super(unauthorizedMessage(attempt, tokenSent, tokenHint))
  }
}

export class AdminForbiddenError extends DynproxyError {
  override readonly code = 'DYN_ERR_ADMIN_FORBIDDEN'
  constructor(attempt: Attempt, operatorHint: string) {
    super(viewerTokenMessage(attempt, operatorHint))
  }
}

export class AdminHostRefusedError extends DynproxyError {
  override readonly code = 'DYN_ERR_ADMIN_HOST_REFUSED'
  constructor(attempt: Attempt, host: string) {
    super(hostRefusedMessage(attempt, host, 'common.admin_hosts'))
  }
}

export class AdminCrossSiteError extends DynproxyError {
  override readonly code = 'DYN_ERR_ADMIN_CROSS_SITE'
  constructor(attempt: Attempt, from: string) {
    super(crossSiteMessage(attempt, from))
  }
}

export class AdminContentTypeError extends DynproxyError {
  override readonly code = 'DYN_ERR_ADMIN_CONTENT_TYPE'
  constructor(attempt: Attempt, contentType: string) {
    super(contentTypeMessage(attempt, contentType))
  }
}

/** The generated operator token of the admin api or the scheduler api could not be kept or read. */
export class AdminTokenFileError extends DynproxyError {
  override readonly code = 'DYN_ERR_ADMIN_TOKEN_FILE'
  constructor(file: string, problem: string, hint: string, cause?: unknown) {
    super(`the operator token file ${file} ${problem} (hint: ${hint})`, { cause })
  }
}

export class AdminNotReadyError extends DynproxyError {
  override readonly code = 'DYN_ERR_ADMIN_NOT_READY'
  constructor(state: string) {
    super(
      `node is not ready: state ${state} (hint: a starting node is ready once every listener is bound; ` +
        'a draining node stays not ready)',
    )
  }
}

export class AdminInternalError extends DynproxyError {
  override readonly code = 'DYN_ERR_ADMIN_INTERNAL'
  constructor(method: string, path: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    super(`failed to serve ${method} ${path}: ${reason} (hint: the node log has the stack)`, { cause })
  }
}
