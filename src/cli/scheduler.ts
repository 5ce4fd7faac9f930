/** `dynproxy scheduler -c scheduler.yaml`: argv and signals only; the work is in startScheduler. */
import type { Command } from 'commander'
import { createLogger, flushLogger } from '../log/logger.ts'
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
    .action(async (opts: { config: string }) => {
      await runScheduler(opts.config)
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
  handleSignals(
    running,
    () => {
      flushLogger(logger)
      process.exit(EXIT.ok)
    },
    (msg) => logger.info(msg),
  )
}
