/**
 * The node's logger: pino, JSON lines, to stdout or to `common.log_file`. File output is
 * asynchronous (buffered) so that the access log does not block the event loop; `flushLogger`
 * must run before the process exits.
 */
import { dirname } from 'node:path'
import pino, { type DestinationStream, type Logger } from 'pino'
import type { LogLevel } from '../config/types.ts'

export type { Logger }

export interface LoggerOptions {
  readonly level: LogLevel
  readonly file?: string
  readonly nodeId?: string
}

export function createLogger(options: LoggerOptions): Logger {
  const destination: DestinationStream = options.file
    ? pino.destination({ dest: options.file, sync: false, mkdir: dirname(options.file) !== '.' })
    : pino.destination({ dest: 1, sync: true })
  return pino(
    {
      level: options.level,
      base: options.nodeId ? { node: options.nodeId } : null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  )
}

/** A logger that writes nothing: for tests and embedders that bring no logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}

export function flushLogger(logger: Logger): void {
  try {
    logger.flush()
  } catch {
    // Nothing buffered, or the destination is already closed: nothing left to lose.
  }
}
