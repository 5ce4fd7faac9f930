/**
 * `dynproxy demo`: the local demo mesh on loopback (src/demo/mesh-demo.ts), with the commands to
 * try. Ctrl-C stops everything.
 */
import { join } from 'node:path'
import { ADMIN_TOKEN_FILE } from '../admin/server.ts'
import { readTokenFile } from '../admin/token-file.ts'
import { startDemo } from '../demo/mesh-demo.ts'
import { createLogger, flushLogger } from '../log/logger.ts'
import { API_TOKEN_FILE } from '../scheduler/rest-api.ts'
import { EXIT, exitWith } from './exit.ts'
import { handleSignals } from './signals.ts'

export interface DemoCommandOptions {
  readonly basePort: number
  readonly stateDir: string
}

/** A path as a shell reads it back: quoted only when it needs to be. */
function shellWord(text: string): string {
  return /^[\w./@%+=:,-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`
}

export async function runDemo(options: DemoCommandOptions): Promise<void> {
  const logger = createLogger({ level: 'warn' })
  const demo = await startDemo({ basePort: options.basePort, stateDir: options.stateDir, logger }).catch(
    exitWith,
  )
  const p = demo.ports
  const api = `http://127.0.0.1:${p.schedulerApi}`
  const schedulerToken = shellWord(join(options.stateDir, 'scheduler', API_TOKEN_FILE))
  const nodeTokenFile = join(options.stateDir, 'a', ADMIN_TOKEN_FILE)
  const asOperator = `-H "Authorization: Bearer $(cat ${shellWord(nodeTokenFile)})" -H 'Content-Type: application/json'`
  // The terminal is the operator's own: the UI's address carries node a's token in its fragment.
  const again = 'delete the demo state directory and start again'
  const uiToken = await readTokenFile(nodeTokenFile, again).catch(exitWith)
  const consoleToken = await readTokenFile(join(options.stateDir, 'scheduler', API_TOKEN_FILE), again).catch(
    exitWith,
  )
  process.stdout.write(
    [
      'dynproxy demo is running on loopback:',
      `  Traffic Scheduler   gRPC 127.0.0.1:${p.schedulerGrpc}, API ${api}`,
      `  node a (us-east)    listener web 127.0.0.1:${p.web}, admin http://127.0.0.1:${p.admin.a}`,
      `  node b (eu-central) relay, admin http://127.0.0.1:${p.admin.b}`,
      `  node c (us-west)    egress, admin http://127.0.0.1:${p.admin.c}`,
      `  sample backend      127.0.0.1:${p.backend}, reached from c`,
      '  links (emulated)    a→b 10 ms, b→c 10 ms, a→c 80 ms round trip',
      '',
      'Open the scheduler console (the mesh, the chosen path a→b→c and what it saves against a→c, live):',
      `  ${api}/ui#token=${consoleToken}`,
      `Each node has its own console; node a's: http://127.0.0.1:${p.admin.a}/ui#token=${uiToken}`,
      '',
      'The scheduler measures the links through the nodes and sends a’s flows to the backend via b.',
      'Try:',
      `  curl http://127.0.0.1:${p.web}/hello`,
      `  npx dynproxy ctl --api ${api} paths`,
      `  npx dynproxy ctl --api ${api} links`,
      `  npx dynproxy ctl --api ${api} --token-file ${schedulerToken} probe b   # changes take the operator token`,
      `  curl http://127.0.0.1:${p.admin.a}/routes`,
      `  curl http://127.0.0.1:${p.admin.a}/peers`,
      `  curl -X POST ${asOperator} http://127.0.0.1:${p.admin.a}/peers/b/probe   # measure a→b now (~1 s)`,
      `  curl http://127.0.0.1:${p.admin.b}/flows`,
      '',
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  )
  handleSignals(
    demo,
    () => {
      flushLogger(logger)
      process.exit(EXIT.ok)
    },
    (msg) => process.stdout.write(`${msg}\n`),
  )
}
