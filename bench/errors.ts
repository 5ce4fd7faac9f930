import { DynproxyError } from '../src/errors/base.ts'

export class BenchArgumentError extends DynproxyError {
  override readonly code = 'DYN_ERR_BENCH_ARGUMENT'
  constructor(option: string, value: string, allowed: readonly string[]) {
    super(`bench option ${option}: unknown value "${value}" (hint: use one of ${allowed.join(', ')})`)
  }
}

export class BenchNotReadyError extends DynproxyError {
  override readonly code = 'DYN_ERR_BENCH_NOT_READY'
  constructor(what: string, address: string, timeoutMs: number) {
    super(
      `${what} did not accept connections on ${address} within ${timeoutMs}ms (hint: run its command by hand and read its output)`,
    )
  }
}

export class BenchProcessExitError extends DynproxyError {
  override readonly code = 'DYN_ERR_BENCH_PROCESS_EXIT'
  constructor(what: string, status: string, output: string) {
    super(`${what} exited with ${status}${output ? `: ${output.trim().slice(-500)}` : ''}`)
  }
}

export class BenchToolOutputError extends DynproxyError {
  override readonly code = 'DYN_ERR_BENCH_TOOL_OUTPUT'
  constructor(tool: string, reason: string, options?: ErrorOptions) {
    super(
      `could not read the result of ${tool}: ${reason} (hint: run it by hand and check its version)`,
      options,
    )
  }
}

export class BenchTimeoutError extends DynproxyError {
  override readonly code = 'DYN_ERR_BENCH_TIMEOUT'
  constructor(what: string, timeoutMs: number) {
    super(`${what} did not finish within ${timeoutMs}ms and was killed (hint: is the proxy forwarding?)`)
  }
}

export class BenchNoFailoverError extends DynproxyError {
  override readonly code = 'DYN_ERR_BENCH_NO_FAILOVER'
  constructor(what: string, windowMs: number, failed: number) {
    super(
      `no connection through ${what} succeeded within ${windowMs}ms of killing its first relay (${failed} failed) (hint: does the ingress try its second path?)`,
    )
  }
}

export class BenchSetupError extends DynproxyError {
  override readonly code = 'DYN_ERR_BENCH_SETUP'
  constructor(what: string, timeoutMs: number, detail: string) {
    super(
      `${what} not ready within ${timeoutMs}ms: ${detail} (hint: run the bench with one scenario and read the process output)`,
    )
  }
}
