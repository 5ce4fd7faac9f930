import { DynproxyError } from './base.ts'

/** A connection to an `inspect_sni` listener sent no whole first TLS message in time, or ended first. */
export class SniClientHelloIncompleteError extends DynproxyError {
  override readonly code = 'DYN_ERR_SNI_CLIENT_HELLO'
  constructor(what: string, received: number) {
    super(`TLS ClientHello: ${what} after ${received} bytes`)
  }
}
