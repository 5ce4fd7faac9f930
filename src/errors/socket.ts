import { DynproxyError } from './base.ts'
import type { ConnectFailureReason } from './upstream.ts'

/**
 * A TLS section without its certificate or key. Bun reads a TLS options object whose fields are
 * all undefined as "no TLS" and would serve or dial in plaintext, so such a section is refused.
 */
export class SocketTlsOptionsError extends DynproxyError {
  override readonly code = 'DYN_ERR_SOCKET_TLS_OPTIONS'
  constructor(owner: string, missing: readonly string[]) {
    super(
      `${owner}: tls needs ${missing.join(' and ')} (hint: a tls section without them would run in plaintext, so it is refused)`,
    )
  }
}

/**
 * Too many dials are still pending after their timeout: Bun cannot cancel a dial, so each one a
 * dead target ignores holds a socket until the kernel gives up (about two minutes). Beyond the cap
 * new dials fail at once rather than exhaust file descriptors.
 */
export class SocketDialCapError extends DynproxyError {
  override readonly code = 'DYN_ERR_SOCKET_DIAL_CAP'
  readonly reason: ConnectFailureReason = 'other'
  readonly target: string
  constructor(target: string, cap: number) {
    super(
      `connect to ${target} not attempted: ${cap} earlier dials are still pending after their timeout (hint: targets that drop SYNs hold a socket each for about two minutes; fix or remove them)`,
    )
    this.target = target
  }
}

/** The server's certificate did not verify against the configured CA or server name. */
export class SocketTlsVerifyError extends DynproxyError {
  override readonly code = 'DYN_ERR_SOCKET_TLS_VERIFY'
  readonly reason: ConnectFailureReason = 'other'
  readonly target: string
  constructor(target: string, verifyCode: string, options?: ErrorOptions) {
    super(
      `tls connection to ${target} refused: the server's certificate failed verification: ${verifyCode} (hint: is the CA right, and does the certificate name the server?)`,
      options,
    )
    this.target = target
  }
}

/** A header reader gathered its limit of bytes and the header was still incomplete. */
export class SocketHeaderTooLongError extends DynproxyError {
  override readonly code = 'DYN_ERR_SOCKET_HEADER_TOO_LONG'
  constructor(what: string, wanted: number, maxBytes: number) {
    super(`${what}: header needs ${wanted} bytes, more than the limit of ${maxBytes}`)
  }
}
