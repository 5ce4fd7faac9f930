import { DynproxyError } from './base.ts'

/** One problem in a config file, located so that an editor can jump to it. */
export interface ConfigIssue {
  readonly file: string
  readonly line: number
  /** Key path in the YAML's own keys, e.g. `listeners[1].bind`; empty for the whole document. */
  readonly path: string
  readonly message: string
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.path === '' ? '' : `${issue.path}: `
  return `${issue.file}:${issue.line}: ${where}${issue.message}`
}

export class ConfigReadError extends DynproxyError {
  override readonly code = 'DYN_ERR_CONFIG_READ'
  readonly file: string
  constructor(file: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    super(`cannot read config file ${file}: ${reason}`, { cause })
    this.file = file
  }
}

export class ConfigSyntaxError extends DynproxyError {
  override readonly code = 'DYN_ERR_CONFIG_SYNTAX'
  readonly file: string
  readonly line: number
  readonly column: number
  constructor(file: string, line: number, column: number, reason: string) {
    super(`${file}:${line}:${column}: invalid YAML: ${reason}`)
    this.file = file
    this.line = line
    this.column = column
  }
}

export class ConfigInvalidError extends DynproxyError {
  override readonly code = 'DYN_ERR_CONFIG_INVALID'
  readonly issues: readonly ConfigIssue[]
  constructor(issues: readonly ConfigIssue[]) {
    const count = issues.length === 1 ? '1 problem' : `${issues.length} problems`
    super(`invalid config (${count}):\n${issues.map(formatConfigIssue).join('\n')}`)
    this.issues = issues
  }
}

export class ConfigDurationError extends DynproxyError {
  override readonly code = 'DYN_ERR_CONFIG_DURATION'
  constructor(reason: string) {
    super(reason)
  }
}
