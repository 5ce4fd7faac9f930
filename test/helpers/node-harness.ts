/**
 * Starting real nodes in-process for tests: from YAML text through the real config loader, with
 * a logger whose lines the test can read.
 */
import { Writable } from 'node:stream'
import pino from 'pino'
import { loadConfigText } from '../../src/config/index.ts'
import type { Logger } from '../../src/log/logger.ts'
import { ProxyNode } from '../../src/node/index.ts'

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
  /** The admin API's operator token. */
  readonly adminToken: string
  /** A change on the admin API as curl or ctl sends it: POST, the operator token, JSON. */
  adminPost(path: string, body?: unknown): Promise<Response>
  port(listener: string): number
  close(): Promise<void>
}

/** The operator token of test nodes whose YAML sets none, so that tests leave no token file behind. */
export const TEST_ADMIN_TOKEN = 'test-admin-operator-token'

/** What a client outside a browser sends with a change: the operator token and a JSON content type. */
export function operatorHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
}

/** Loads `yaml` as a node config (admin on 127.0.0.1:0 unless the YAML says otherwise) and starts it. */
export async function startTestNode(yaml: string): Promise<TestNode> {
  const loaded = await loadConfigText(yaml, 'test-node.yaml')
  const adminToken = loaded.common.adminToken ?? TEST_ADMIN_TOKEN
  const config = { ...loaded, common: { ...loaded.common, adminToken } }
  const { logger, lines } = captureLogger()
  const node = new ProxyNode(config, { logger })
  await node.start()
  const admin = `http://${node.adminAddress}`
  return {
    node,
    logs: lines,
    admin,
    adminToken,
    adminPost: (path, body) =>
      fetch(`${admin}${path}`, {
        method: 'POST',
        headers: operatorHeaders(adminToken),
        ...(body !== undefined && { body: JSON.stringify(body) }),
      }),
    port: (listener) => node.listenerPort(listener),
    close: () => node.destroy(),
  }
}
