import { DynproxyError } from './base.ts'

/** A node or link handed to `buildGraph` is unusable: a duplicate, a self-loop or a metric out of range. */
export class PathGraphError extends DynproxyError {
  override readonly code = 'DYN_ERR_PATHS_INVALID_GRAPH'
  readonly subject: string
  constructor(subject: string, problem: string, hint?: string) {
    super(`path graph: ${subject} ${problem}${hint ? ` (hint: ${hint})` : ''}`)
    this.subject = subject
  }
}

/** A path computation argument is out of range (k, n, a hysteresis threshold). */
export class PathArgumentError extends DynproxyError {
  override readonly code = 'DYN_ERR_PATHS_INVALID_ARGUMENT'
  readonly argument: string
  constructor(argument: string, value: unknown, expected: string) {
    super(`path computation: ${argument}=${String(value)} is invalid: expected ${expected}`)
    this.argument = argument
  }
}

/** A claim of a path token to sign cannot be encoded: empty, too long, too many entries, not an integer. */
export class PathTokenClaimError extends DynproxyError {
  override readonly code = 'DYN_ERR_PATHS_TOKEN_CLAIM'
  readonly claim: string
  constructor(claim: string, problem: string) {
    super(`path token claim ${claim} ${problem}`)
    this.claim = claim
  }
}

/** The signed token would not fit the mesh header's path token field. */
export class PathTokenTooLargeError extends DynproxyError {
  override readonly code = 'DYN_ERR_PATHS_TOKEN_TOO_LARGE'
  constructor(bytes: number, max: number) {
    super(
      `path token needs ${bytes} bytes, max ${max} (hint: shorten node ids, the route id or the target list)`,
    )
  }
}

/** Why one path could not be given a token: the path is left out of its set. */
export type PathTokenError = PathTokenClaimError | PathTokenTooLargeError

/** A signing or verification key is not an Ed25519 key in the expected encoding. */
export class PathTokenKeyError extends DynproxyError {
  override readonly code = 'DYN_ERR_PATHS_TOKEN_KEY'
  constructor(what: string, problem: string, options?: ErrorOptions) {
    super(
      `path token ${what} ${problem} (hint: use the key printed by the scheduler: base64 of the raw 32-byte Ed25519 public key)`,
      options,
    )
  }
}
