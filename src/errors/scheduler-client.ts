import { DynproxyError } from './base.ts'

/** An instruction set from the scheduler (or the cache file) broke a rule; `detail` names the field path. */
export class InstructionsInvalidError extends DynproxyError {
  override readonly code = 'DYN_ERR_INSTRUCTIONS_INVALID'
  readonly detail: string
  constructor(source: string, detail: string) {
    super(`invalid instruction set from ${source}: ${detail}`)
    this.detail = detail
  }
}

/** A set whose version is not above the one in force: a replay or a scheduler that lost its epoch. */
export class InstructionsVersionError extends DynproxyError {
  override readonly code = 'DYN_ERR_INSTRUCTIONS_VERSION'
  constructor(offered: string, inForce: string) {
    super(
      `version ${offered} is not newer than ${inForce} in force (hint: a scheduler must keep its epoch across restarts; ` +
        'delete instructions.json in common.state_dir only if the scheduler state was wiped on purpose)',
    )
  }
}

/** The set could not be written to the state dir, so it was not applied. */
export class InstructionsPersistError extends DynproxyError {
  override readonly code = 'DYN_ERR_INSTRUCTIONS_PERSIST'
  readonly file: string
  constructor(file: string, reason: string, options?: ErrorOptions) {
    super(`cannot persist instructions to ${file}: ${reason} (hint: is common.state_dir writable?)`, options)
    this.file = file
  }
}

/** The persisted instruction file exists but cannot be used; the node starts without it. */
export class InstructionsCacheCorruptError extends DynproxyError {
  override readonly code = 'DYN_ERR_INSTRUCTIONS_CACHE_CORRUPT'
  readonly file: string
  constructor(file: string, reason: string, options?: ErrorOptions) {
    super(
      `ignoring the cached instructions in ${file}: ${reason} (hint: the scheduler resends a set on connect; ` +
        'the file is replaced then)',
      options,
    )
    this.file = file
  }
}

/** `scheduler.address: embedded` gives the client nowhere to dial until the embedded scheduler is bound. */
export class SchedulerClientNoAddressError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_CLIENT_NO_ADDRESS'
  constructor() {
    super(
      'scheduler client has no address to dial (hint: with scheduler.address "embedded", pass the embedded ' +
        "scheduler's bound address in the client's addresses option)",
    )
  }
}

/** Dial, HTTP/2 handshake and the scheduler's Welcome did not all complete within connect_timeout. */
export class SchedulerConnectTimeoutError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_CLIENT_CONNECT_TIMEOUT'
  readonly address: string
  constructor(address: string, timeoutMs: number) {
    super(
      `scheduler ${address} sent no welcome within ${timeoutMs}ms (hint: is a dynproxy scheduler listening there, ` +
        'and is scheduler.connect_timeout long enough for the network?)',
    )
    this.address = address
  }
}

/** The stream to the scheduler failed or ended; the client reconnects with backoff. */
export class SchedulerStreamError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_CLIENT_STREAM'
  readonly address: string
  constructor(address: string, reason: string, options?: ErrorOptions) {
    super(`scheduler stream to ${address} ended: ${reason} (hint: the client reconnects on its own)`, options)
    this.address = address
  }
}

/** The scheduler broke the protocol, e.g. sent its first message before a Welcome. */
export class SchedulerProtocolError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_CLIENT_PROTOCOL'
  readonly address: string
  constructor(address: string, detail: string) {
    super(
      `scheduler ${address} broke the protocol: ${detail} (hint: are node and scheduler the same version?)`,
    )
    this.address = address
  }
}

/** A Resolve call got no answer within request_timeout; the flow falls back to cached or static routes. */
export class SchedulerResolveTimeoutError extends DynproxyError {
  override readonly code = 'DYN_ERR_SCHEDULER_CLIENT_RESOLVE_TIMEOUT'
  readonly address: string
  constructor(address: string, timeoutMs: number) {
    super(
      `scheduler ${address} did not resolve a route within ${timeoutMs}ms (hint: raise scheduler.request_timeout ` +
        'or check the scheduler load)',
    )
    this.address = address
  }
}
