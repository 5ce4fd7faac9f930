/**
 * Starting real nodes in-process for tests: from YAML text through the real config loader, with
 * a logger whose lines the test can read.
 */
import { Writable } from 'node:stream'
import pino from 'pino'
import { loadConfigText } from '../config/index.ts'
import type { Logger } from '../log/logger.ts'
import { ProxyNode } from '../node/index.ts'

export interface LogLine {
  readonly level: string
  readonly msg: string
  readonly [key: string]: unknown
}

export interface CapturedLogger {
  readonly logger: Logger
  readonly lines: LogLine[]
}

/** A pino logger at debug level that keeps every line as a parsed object. */
export function captureLogger(): CapturedLogger {
  const lines: LogLine[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as LogLine)
      done()
    },
  })
  const logger = pino({ level: 'debug', formatters: { level: (label) => ({ level: label }) } }, sink)
  return { logger, lines }
}

export interface TestNode {
  readonly node: ProxyNode
  readonly logs: LogLine[]
  /** The admin API's base URL. */
  readonly admin: string
  port(listener: string): number
  close(): Promise<void>
}

/** Loads `yaml` as a node config (admin on 127.0.0.1:0 unless the YAML says otherwise) and starts it. */
export async function startTestNode(yaml: string): Promise<TestNode> {
  const config = await loadConfigText(yaml, 'test-node.yaml')
  const { logger, lines } = captureLogger()
  const node = new ProxyNode(config, { logger })
  await node.start()
  return {
    node,
    logs: lines,
    admin: `http://${node.adminAddress}`,
    port: (listener) => node.listenerPort(listener),
    close: () => node.destroy(),
  }
}

/** Waits until `predicate` holds, checking every 10 ms, for at most `timeoutMs`. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
