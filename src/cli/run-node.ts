import { availableParallelism } from 'node:os'
import { loadConfig } from '../config/index.ts'
import type { NodeConfig } from '../config/types.ts'
import { createLogger, flushLogger, type Logger } from '../log/logger.ts'
import { ProxyNode } from '../node/index.ts'
import { workerCount } from '../workers/count.ts'
import { NodeSupervisor } from '../workers/supervisor.ts'
import { EXIT, exitWith } from './exit.ts'
import { handleSignals } from './signals.ts'

export async function runNode(files: string[]): Promise<void> {
  let config: Awaited<ReturnType<typeof loadConfig>>
  try {
    config = await loadConfig(files)
  } catch (err) {
    exitWith(err)
  }
  const logger = createLogger({
    level: config.common.logLevel,
    file: config.common.logFile,
    nodeId: config.common.nodeId,
  })
  const workers = workerCount(config.common.workers, availableParallelism())
  let node: ProxyNode | NodeSupervisor
  try {
    node = workers > 1 ? new NodeSupervisor(config, workers, { logger }) : new ProxyNode(config, { logger })
    await node.start()
  } catch (err) {
    logger.fatal({ err }, 'node failed to start')
    flushLogger(logger)
    exitWith(err)
  }
  handleSignals(
    node,
    () => {
      flushLogger(logger)
      process.exit(EXIT.ok)
    },
    (msg) => logger.info(msg),
    () => reloadFrom(files, node, logger),
  )
}

/** SIGHUP: a config that does not load leaves the running one in force, untouched. */
async function reloadFrom(files: string[], node: ProxyNode | NodeSupervisor, logger: Logger): Promise<void> {
  let next: NodeConfig
  try {
    next = await loadConfig(files)
  } catch (err) {
    logger.error({ err }, 'config reload refused: the running config stays in force')
    return
  }
  const { applied, restartRequired, errors } = await node.reload(next)
  logger.info({ applied }, applied.length > 0 ? 'config reloaded' : 'config reloaded: nothing changed')
  if (restartRequired.length > 0)
    logger.warn(
      { keys: restartRequired },
      'config reload: these keys keep their running value until a restart',
    )
  for (const err of errors) logger.error({ err }, 'config reload: a part of it did not apply')
}
