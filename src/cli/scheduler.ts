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
  const { authority, joinTokenFile } = running
  if (authority?.madeNow && joinTokenFile !== undefined) {
    // The token itself only to a terminal: stderr may end up in logs that others read.
    const shown = process.stderr.isTTY ? authority.joinToken : `<the token in ${joinTokenFile}>`
    process.stderr.write(joinInstructions(shown, joinTokenFile, running.grpcAddress))
  } else if (joinTokenFile !== undefined) {
    logger.info({ file: joinTokenFile }, 'nodes join with the join token in this file')
  }
  handleSignals(
    running,
    () => {
      flushLogger(logger)
      process.exit(EXIT.ok)
    },
    (msg) => logger.info(msg),
  )
}

/** What the first start prints: where the token is, and the node config that uses it. */
export function joinInstructions(token: string, file: string, grpcAddress: string): string {
  return [
    '',
    `The scheduler made its mesh CA and a join token, kept in ${file} (mode 0600).`,
    'Keep the token secret: it lets a machine join as a new node.',
    '',
    'On each node, in its config (with the address nodes reach the scheduler at):',
    '',
    '  scheduler:',
    `    address: ${grpcAddress}`,
    `    join_token: ${token}`,
    '',
    'The node joins once, keeps its certificate in common.state_dir and renews it by itself.',
    'dynproxy scheduler --print-join-token -c <this config> prints the token.',
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
