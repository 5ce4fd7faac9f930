/**
 * `dynproxy scheduler -c scheduler.yaml`: argv and signals only; the work is in startScheduler. At
 * the first start it says how nodes join; `--print-join-token` prints the token again.
 */
import type { Command } from 'commander'
import { SchedulerInsecureJoinError } from '../errors/scheduler-auth.ts'
import { createLogger, flushLogger, silentLogger } from '../log/logger.ts'
import type { SchedulerConfig } from '../scheduler/config/types.ts'
import type { RunningScheduler } from '../scheduler/server.ts'
import { EXIT, exitWith } from './exit.ts'
import { handleSignals } from './signals.ts'

export const DEFAULT_SCHEDULER_CONFIG = 'scheduler.yaml'

export function registerSchedulerCommand(program: Command): void {
  program
    .command('scheduler')
    .description('run the Traffic Scheduler: nodes connect over gRPC, operators use its REST api')
    .option('-c, --config <file>', 'scheduler config file', DEFAULT_SCHEDULER_CONFIG)
    .option('--print-join-token', 'print the token nodes join with (scheduler.join_token), then exit')
    .action(async (opts: { config: string; printJoinToken?: boolean }) => {
      if (opts.printJoinToken === true) await printJoinToken(opts.config)
      else await runScheduler(opts.config)
    })
}

export async function runScheduler(file: string): Promise<void> {
  // Loaded when the command runs, so that `dynproxy` as a node never loads the scheduler (or etcd).
  const [{ loadSchedulerConfig }, { startScheduler }] = await Promise.all([
    import('../scheduler/config/load.ts'),
    import('../scheduler/server.ts'),
  ])
  let config: SchedulerConfig
  try {
    config = await loadSchedulerConfig(file)
  } catch (err) {
    exitWith(err)
  }
  const s = config.scheduler
  const logger = createLogger({ level: s.logLevel, ...(s.logFile && { file: s.logFile }), nodeId: s.id })
  let running: RunningScheduler
  try {
    running = await startScheduler(config, { logger })
  } catch (err) {
    logger.fatal({ err }, 'scheduler failed to start')
    flushLogger(logger)
    exitWith(err)
  }
  const token = running.authority?.joinToken
  if (running.authority?.madeNow && token !== undefined)
    process.stderr.write(joinInstructions(token, running.grpcAddress))
  else if (token !== undefined)
    logger.info('nodes join with the join token: dynproxy scheduler --print-join-token prints it')
  handleSignals(
    running,
    () => {
      flushLogger(logger)
      process.exit(EXIT.ok)
    },
    (msg) => logger.info(msg),
  )
}

/** What the first start prints: the token, and the node config that uses it. */
export function joinInstructions(token: string, grpcAddress: string): string {
  return [
    '',
    'The scheduler made its mesh CA and a join token (keep it secret: it lets a machine join as a new node):',
    '',
    `  ${token}`,
    '',
    'On each node, in its config (use the address nodes reach the scheduler at):',
    '',
    '  scheduler:',
    `    address: ${grpcAddress}`,
    `    join_token: ${token}`,
    '',
    'The node joins once, keeps its certificate in common.state_dir and renews it by itself.',
    'Print the token again with: dynproxy scheduler --print-join-token -c <this config>',
    '',
  ].join('\n')
}

async function printJoinToken(file: string): Promise<void> {
  const [{ loadSchedulerConfig }, { openStore }, { storedJoinToken }] = await Promise.all([
    import('../scheduler/config/load.ts'),
    import('../scheduler/server.ts'),
    import('../scheduler/auth/authority.ts'),
  ])
  try {
    const config = await loadSchedulerConfig(file)
    if (config.scheduler.insecure) throw new SchedulerInsecureJoinError()
    const store = await openStore(config.scheduler, silentLogger())
    try {
      const token = await storedJoinToken(config.scheduler, store)
      if (token === undefined) {
        process.stderr.write('dynproxy: no join token yet: the scheduler makes it at its first start\n')
        process.exit(EXIT.failure)
      }
      process.stdout.write(`${token}\n`)
    } finally {
      await store.close()
    }
  } catch (err) {
    exitWith(err)
  }
}
