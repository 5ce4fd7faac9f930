import { DynproxyError } from './base.ts'

/** A name that is not in `peers`: a route, an instruction or a caller names a peer this node lacks. */
export class PeerUnknownError extends DynproxyError {
  override readonly code = 'DYN_ERR_PEER_UNKNOWN'
  readonly peer: string
  constructor(peer: string, known: readonly string[]) {
    const list = known.length === 0 ? 'no peers are configured' : `peers: ${known.join(', ')}`
    super(`unknown peer ${JSON.stringify(peer)} (${list}) (hint: add it under peers in the config)`)
    this.peer = peer
  }
}

/** A data connection to a peer could not be opened (connect, TLS handshake or timeout). */
export class PeerDialError extends DynproxyError {
  override readonly code = 'DYN_ERR_PEER_DIAL'
  readonly peer: string
  readonly address: string
  constructor(peer: string, address: string, cause: string, options?: ErrorOptions) {
    super(
      `dial to peer ${peer} at ${address} failed: ${cause} (hint: is the peer running with mesh.bind on that address, and do tls/token settings match?)`,
      options,
    )
    this.peer = peer
    this.address = address
  }
}

/** A control-channel frame that breaks the protocol: the channel is closed. */
export class ControlFrameError extends DynproxyError {
  override readonly code = 'DYN_ERR_PEER_BAD_FRAME'
  constructor(problem: string) {
    super(`bad control frame: ${problem} (hint: is the peer a dynproxy node of the same release?)`)
  }
}

/** The peer answered the control hello with a status other than ok. */
export class ControlRejectedError extends DynproxyError {
  override readonly code = 'DYN_ERR_PEER_REJECTED'
  readonly status: string
  constructor(peer: string, status: string, message: string | undefined) {
    super(
      `peer ${peer} refused the control hello: ${status}${message ? ` (${message})` : ''} (hint: ${rejectHint(status)})`,
    )
    this.status = status
  }
}

/** The node answering at a peer's address is not the peer the config names there. */
export class PeerIdentityError extends DynproxyError {
  override readonly code = 'DYN_ERR_PEER_IDENTITY'
  constructor(peer: string, answered: string) {
    super(
      `peer ${peer} answered as node ${JSON.stringify(answered)} (hint: does peers[].address point at the node named ${peer}?)`,
    )
  }
}

function rejectHint(status: string): string {
  switch (status) {
    case 'unauthorized':
      return 'do both nodes have the same mesh.token, or certificates from the same CA naming their node ids?'
    case 'expired':
      return 'the clocks of the two nodes differ by more than 30s; run NTP'
    default:
      return 'see the peer node’s log'
  }
}
