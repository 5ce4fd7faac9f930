/**
 * SIGTERM and SIGINT drain the node and exit 0 once it has stopped. Another stop signal within
 * REPEAT_WINDOW_MS of the first is the same request: Ctrl-C on `npm start` reaches the process
 * twice, once from the terminal (to the whole process group) and once forwarded by npm. One
 * after that window exits at once (code 1): the operator asked again.
 * SIGHUP reloads the config files (`dynproxy` nodes; other commands log and ignore it); reloads
 * never overlap, and one asked for during another runs after it, so the last file written is
 * the one in force.
 */
export interface Stoppable {
  close(): Promise<void>
}

/** Long enough for both copies of one Ctrl-C, short enough that asking again works soon. */
export const REPEAT_WINDOW_MS = 1000

export type StopAction = 'drain' | 'same_stop' | 'exit_now'

/** What a stop signal means, given when the first one came (undefined: none yet). */
export function stopAction(
  firstAtMs: number | undefined,
  nowMs: number,
  windowMs = REPEAT_WINDOW_MS,
): StopAction {
  if (firstAtMs === undefined) return 'drain'
  return nowMs - firstAtMs < windowMs ? 'same_stop' : 'exit_now'
}

export function handleSignals(
  target: Stoppable,
  onStopped: () => void,
  log: (msg: string) => void,
  reload?: () => Promise<void>,
): void {
  let firstAt: number | undefined
  const stop = (signal: NodeJS.Signals) => {
    const action = stopAction(firstAt, performance.now())
    if (action === 'same_stop') {
      log(`${signal} again within ${REPEAT_WINDOW_MS} ms: the same stop, still draining`)
      return
    }
    if (action === 'exit_now') {
      log(`${signal} again: exiting now`)
      process.exit(1)
    }
    firstAt = performance.now()
    log(`${signal}: draining (send it again after a second to exit at once)`)
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
