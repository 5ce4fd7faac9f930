import { DynproxyError } from './base.ts'

/** A link emulator option is out of range; thrown by `startLinkEmulator()` and `LinkEmulator.set()`. */
export class LinkEmulatorOptionError extends DynproxyError {
  override readonly code = 'DYN_ERR_TESTING_LINK_OPTION'
  readonly option: string
  constructor(option: string, value: unknown, expected: string, options?: ErrorOptions) {
    super(`link emulator option ${option}=${String(value)} is invalid: expected ${expected}`, options)
    this.option = option
  }
}

/** The link emulator could not listen on its address; the system error is the cause. */
export class LinkEmulatorListenError extends DynproxyError {
  override readonly code = 'DYN_ERR_TESTING_LINK_LISTEN'
  readonly address: string
  constructor(address: string, errno: string, options?: ErrorOptions) {
    super(
      `link emulator could not listen on ${address}: ${errno} (hint: pass port 0 to let the system pick a free port)`,
      options,
    )
    this.address = address
  }
}
