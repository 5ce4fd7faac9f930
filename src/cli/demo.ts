/**
 * `dynproxy demo`: a node on loopback in front of a sample backend, with the commands to try.
 * Everything runs in this process and stops with Ctrl-C.
 */
import { access } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { loadConfig } from '../config/index.ts'
import { createLogger, flushLogger } from '../log/logger.ts'
import { ProxyNode } from '../node/index.ts'
import { startSampleBackend } from '../testing/sample-backend.ts'
import { EXIT, exitWith } from './exit.ts'
import { handleSignals } from './signals.ts'

const DEMO_CONFIG = fileURLToPath(new URL('../../examples/demo.yaml', import.meta.url))
const DEMO_CONFIG_FROM_DIST = fileURLToPath(new URL('../../../examples/demo.yaml', import.meta.url))
const BACKEND_PORT = 18081

export async function runDemo(): Promise<void> {
  const config = await loadConfig([await demoConfigPath()]).catch(exitWith)
  const backend = await startSampleBackend('the demo backend', '127.0.0.1', BACKEND_PORT).catch(
    (err: unknown) =>
      exitWith(
        new Error(`cannot start the demo backend on 127.0.0.1:${BACKEND_PORT}: ${String(err)}`),
        EXIT.start,
      ),
  )
  const logger = createLogger({ level: 'warn' })
  const node = new ProxyNode(config, { logger })
  await node.start().catch(async (err: unknown) => {
    await backend.close()
    exitWith(err)
  })
  const web = `127.0.0.1:${node.listenerPort('web')}`
  process.stdout.write(
    [
      'dynproxy demo is running on loopback:',
      `  sample backend   127.0.0.1:${backend.port}`,
      `  node listener    ${web}  → route web-route → the backend`,
      `  admin API        http://${node.adminAddress}`,
      '',
      'Try:',
      `  curl http://${web}/hello`,
      `  curl http://${node.adminAddress}/stats`,
      `  curl http://${node.adminAddress}/routes`,
      `  curl http://${node.adminAddress}/metrics | grep dynproxy_downstream`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  )
  handleSignals(
    {
      close: async () => {
        await node.close()
        await backend.close()
      },
    },
    () => {
      flushLogger(logger)
      process.exit(EXIT.ok)
    },
    (msg) => process.stdout.write(`${msg}\n`),
  )
}

async function demoConfigPath(): Promise<string> {
  return access(DEMO_CONFIG).then(
    () => DEMO_CONFIG,
    () => DEMO_CONFIG_FROM_DIST,
  )
}
