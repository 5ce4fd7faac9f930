import { DynproxyError } from './base.ts'

const BIND_HINTS: Record<string, string> = {
  EADDRINUSE: 'another process holds this port: stop it or choose another port',
  EACCES: 'ports below 1024 need root or CAP_NET_BIND_SERVICE: run with that or choose a port ≥ 1024',
  EADDRNOTAVAIL: 'this host has no such address: use one of its own addresses, 0.0.0.0 or ::',
}

export class ListenerBindError extends DynproxyError {
  override readonly code = 'DYN_ERR_LISTENER_BIND'
  readonly address: string
  constructor(listener: string, address: string, cause: NodeJS.ErrnoException) {
    const hint = BIND_HINTS[cause.code ?? '']
    super(
      `listener "${listener}": failed to bind to ${address}: ${cause.code ?? cause.message}${hint ? ` (hint: ${hint})` : ''}`,
      { cause },
    )
    this.address = address
  }
}

/** A TLS listener's certificate, key or client CA could not be read or do not make a usable context. */
export class ListenerTlsError extends DynproxyError {
  override readonly code = 'DYN_ERR_LISTENER_TLS'
  constructor(listener: string, what: string, cause: unknown) {
    const reason =
      cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : String(cause)
    super(
      `listener "${listener}": ${what}: ${reason} (hint: listeners[].tls names PEM files readable by this process; the key must belong to the certificate)`,
      { cause },
    )
  }
}

/** A reload could not apply a listener's new config: the listener serves on as before. */
export class ListenerReloadKeptError extends DynproxyError {
  override readonly code = 'DYN_ERR_LISTENER_RELOAD_KEPT'
  constructor(listener: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    super(`listener "${listener}" keeps serving with its running config and certificate: ${reason}`, {
      cause,
    })
  }
}
