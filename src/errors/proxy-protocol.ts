import { DynproxyError } from './base.ts'

/** A connection to a `proxy_protocol` listener did not start with a valid PROXY protocol header. */
export class ProxyHeaderError extends DynproxyError {
  override readonly code = 'DYN_ERR_PROXY_PROTOCOL_HEADER'
  readonly field: string
  constructor(field: string, problem: string) {
    super(
      `PROXY protocol header: ${field} ${problem} (hint: a listener with proxy_protocol: true takes connections only from a load balancer that sends the header, e.g. HAProxy's send-proxy)`,
    )
    this.field = field
  }
}

/** The header did not arrive in time, or the connection ended before it was whole. */
export class ProxyHeaderIncompleteError extends DynproxyError {
  override readonly code = 'DYN_ERR_PROXY_PROTOCOL_INCOMPLETE'
  constructor(what: string, received: number) {
    super(`PROXY protocol header: ${what} after ${received} bytes`)
  }
}

/** A connection to a `proxy_protocol` listener came from an address its `proxy_protocol_from` does not list. */
export class ProxyHeaderUntrustedError extends DynproxyError {
  override readonly code = 'DYN_ERR_PROXY_PROTOCOL_UNTRUSTED'
  constructor(source: string, listener: string) {
    super(
      `PROXY protocol header: a connection from ${source}, which listeners.${listener}.proxy_protocol_from does not list, would name its own client (hint: list the load balancers' addresses there)`,
    )
  }
}
