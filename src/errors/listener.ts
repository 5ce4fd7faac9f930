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
