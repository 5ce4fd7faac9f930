/**
 * Where an exception thrown by our own socket handlers goes. Bun ends the process when a socket
 * handler throws and nothing catches it; the socket layer catches it, closes the connection it
 * concerns, and reports it here, so a bug costs one flow, not the node.
 */
export type FaultReporter = (err: unknown) => void

export const socketFaults = { count: 0 }

let reporter: FaultReporter = (err) => console.error('dynproxy: socket handler fault:', err)

/** The node points this at its logger; returns the reporter it replaces. */
export function onSocketFault(report: FaultReporter): FaultReporter {
  const previous = reporter
  reporter = report
  return previous
}

export function reportFault(err: unknown): void {
  socketFaults.count++
  try {
    reporter(err)
  } catch {
    // A reporter that throws here would be the uncaught exception this module exists to prevent.
  }
}
