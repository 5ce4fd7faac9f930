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

/** A test HAProxy did not start or did not listen on its ports in time; its output is in the message. */
export class TestingHaproxyStartError extends DynproxyError {
  override readonly code = 'DYN_ERR_TESTING_HAPROXY_START'
  constructor(problem: string, output: string) {
    super(`test haproxy ${problem}: ${output.trim().slice(-500) || '(no output)'}`)
  }
}

/** No free loopback port was found below the ephemeral range for a test to name. */
export class TestingNoPortError extends DynproxyError {
  override readonly code = 'DYN_ERR_TESTING_NO_PORT'
  constructor(host: string, below: number, tries: number) {
    super(`no free port below ${below} on ${host} after ${tries} tries (hint: too many tests at once?)`)
  }
}

/** A process a test or the chaos harness started exited, or did not get ready, in time. */
export class TestingProcessStartError extends DynproxyError {
  override readonly code = 'DYN_ERR_TESTING_PROCESS_START'
  constructor(name: string, problem: string, output: string) {
    super(
      `test process ${name} did not start: ${problem}; its last output: ${output.trim().slice(-800) || '(none)'}`,
    )
  }
}

/** A chaos run's option is not one it knows or is out of range. */
export class ChaosOptionError extends DynproxyError {
  override readonly code = 'DYN_ERR_TESTING_CHAOS_OPTION'
  readonly option: string
  constructor(option: string, value: unknown, expected: string) {
    super(`chaos option ${option}=${JSON.stringify(value)} is invalid: expected ${expected}`)
    this.option = option
  }
}

/** The chaos mesh did not settle after it started, before any fault. */
export class ChaosSetupError extends DynproxyError {
  override readonly code = 'DYN_ERR_TESTING_CHAOS_SETUP'
  constructor(timeoutMs: number, why: string) {
    super(`the chaos mesh did not settle within ${timeoutMs}ms of its start: ${why} (hint: is the machine overloaded?)`)
  }
}
