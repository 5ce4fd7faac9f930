/**
 * `dynproxy demo`: the local demo mesh on loopback (src/demo/mesh-demo.ts), with the commands to
 * try. Ctrl-C stops everything.
 */
import { startDemo } from '../demo/mesh-demo.ts'
import { createLogger, flushLogger } from '../log/logger.ts'
import { EXIT, exitWith } from './exit.ts'
import { handleSignals } from './signals.ts'

export interface DemoCommandOptions {
  readonly basePort: number
  readonly stateDir: string
}

export async function runDemo(options: DemoCommandOptions): Promise<void> {
  const logger = createLogger({ level: 'warn' })
  const demo = await startDemo({ basePort: options.basePort, stateDir: options.stateDir, logger }).catch(
    exitWith,
  )
  const p = demo.ports
  const api = `http://127.0.0.1:${p.schedulerApi}`
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
      `Open the scheduler console: ${api}/ui   (the mesh, the chosen path a→b→c and what it saves against a→c, live)`,
      `Each node has its own:       http://127.0.0.1:${p.admin.a}/ui (node a), …:${p.admin.b}/ui, …:${p.admin.c}/ui`,
      '',
      'The scheduler measures the links through the nodes and sends a’s flows to the backend via b.',
      'Try:',
      `  curl http://127.0.0.1:${p.web}/hello`,
      `  npx dynproxy ctl --api ${api} paths`,
      `  npx dynproxy ctl --api ${api} links`,
      `  curl http://127.0.0.1:${p.admin.a}/routes`,
      `  curl http://127.0.0.1:${p.admin.a}/peers`,
      `  curl -X POST http://127.0.0.1:${p.admin.a}/peers/b/probe   # measure the link a→b now (~1 s)`,
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
