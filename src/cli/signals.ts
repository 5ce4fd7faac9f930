/**
 * SIGTERM and SIGINT drain the node and exit 0 once it has stopped; a second one exits at once.
 * SIGHUP is caught so that a stray hang-up does not kill a running proxy.
 */
export interface Stoppable {
  close(): Promise<void>
}

export function handleSignals(target: Stoppable, onStopped: () => void, log: (msg: string) => void): void {
  let stopping = false
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`${signal} again: exiting now`)
      process.exit(1)
    }
    stopping = true
    log(`${signal}: draining (send it again to exit at once)`)
    target.close().then(onStopped, () => process.exit(1))
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.on('SIGHUP', () =>
    log('SIGHUP ignored: config reload is not supported yet, restart the node to apply changes'),
  )
}
