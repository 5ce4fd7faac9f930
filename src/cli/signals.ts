/**
 * SIGTERM and SIGINT drain the node and exit 0 once it has stopped; a second one exits at once.
 * SIGHUP reloads the config files (`dynproxy` nodes; other commands log and ignore it); reloads never overlap, and one asked for during another runs
 * after it, so the last file written is the one in force.
 */
export interface Stoppable {
  close(): Promise<void>
}

export function handleSignals(
  target: Stoppable,
  onStopped: () => void,
  log: (msg: string) => void,
  reload?: () => Promise<void>,
): void {
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
  // Caught even with nothing to reload: a stray hang-up must not kill a running process.
  process.on(
    'SIGHUP',
    reload ? serialized(reload) : () => log('SIGHUP ignored: this command reloads nothing'),
  )
}

/** Runs `task` now, or once more after the run in progress; never two at a time. */
export function serialized(task: () => Promise<void>): () => void {
  let running = false
  let again = false
  const run = (): void => {
    if (running) {
      again = true
      return
    }
    running = true
    task().finally(() => {
      running = false
      if (again) {
        again = false
        run()
      }
    })
  }
  return run
}
