import { DynproxyError } from './base.ts'

/** A client of a `handshake` listener spoke no valid SOCKS5 or HTTP CONNECT, or not in time. */
export class ConnectProxyHandshakeError extends DynproxyError {
  override readonly code = 'DYN_ERR_CONNECT_PROXY_HANDSHAKE'
  constructor(protocol: string, problem: string) {
    super(
      `${protocol} handshake: ${problem} (hint: a listener with handshake: ${protocol} takes ${protocol === 'socks5' ? 'SOCKS5 clients (socks5:// or socks5h://)' : 'HTTP proxy clients that send CONNECT'} only)`,
    )
  }
}

/** The listener has `users` and the client gave no credentials, or wrong ones. */
export class ConnectProxyAuthError extends DynproxyError {
  override readonly code = 'DYN_ERR_CONNECT_PROXY_AUTH'
  constructor(protocol: string, user: string | undefined) {
    super(
      user === undefined
        ? `${protocol}: the client gave no credentials (hint: the listener has users; configure the client with one)`
        : `${protocol}: wrong name or password for user ${JSON.stringify(user)}`,
    )
  }
}

/** The destination a client asked for is outside its route's `allow`. */
export class ConnectProxyNotAllowedError extends DynproxyError {
  override readonly code = 'DYN_ERR_CONNECT_PROXY_NOT_ALLOWED'
  readonly destination: string
  constructor(route: string, destination: string, why: string) {
    super(`route "${route}" may not connect to ${destination}: ${why} (hint: add it to the route's allow)`)
    this.destination = destination
  }
}
