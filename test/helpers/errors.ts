/** Errors of the test helpers: a test that cannot set up says why, with a stable code. */
import { DynproxyError } from '../../src/errors/base.ts'

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

/** A test etcd member did not start or did not become healthy in time. */
export class TestingEtcdStartError extends DynproxyError {
  override readonly code = 'DYN_ERR_TESTING_ETCD_START'
  constructor(member: string, reason: string, logFile: string) {
    super(
      `etcd member ${member} did not start: ${reason} (hint: its log is ${logFile}; is etcd-server installed?)`,
    )
  }
}

/** A process a test or the chaos harness started exited, or was not ready, in time. */
export class TestingProcessStartError extends DynproxyError {
  override readonly code = 'DYN_ERR_TESTING_PROCESS_START'
  constructor(name: string, problem: string, output: string) {
    super(
      `test process ${name} did not start: ${problem}; its last output: ${output.trim().slice(-800) || '(none)'}`,
    )
  }
}

/** A chaos run's option is not one it knows, or is out of range. */
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
    super(
      `the chaos mesh did not settle within ${timeoutMs}ms of its start: ${why} (hint: is the machine overloaded?)`,
    )
  }
}
