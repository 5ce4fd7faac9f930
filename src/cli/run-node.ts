import { availableParallelism } from 'node:os'
import { loadConfig } from '../config/index.ts'
import { createLogger, flushLogger } from '../log/logger.ts'
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
  )
}
