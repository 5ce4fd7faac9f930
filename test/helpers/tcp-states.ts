/**
 * The kernel's view of a port's TCP sockets (Linux /proc/net/tcp and tcp6): what a test checks to
 * prove that a server leaves nothing behind, e.g. no connection stuck in CLOSE-WAIT.
 */
import { readFileSync } from 'node:fs'

const STATES: Readonly<Record<string, string>> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
}

/** How many of this host's TCP sockets with local port `port` are in each state. */
export function socketStates(port: number): Record<string, number> {
  const counts: Record<string, number> = {}
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readTable(table).slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/)
      if (local?.endsWith(`:${hexPort}`) !== true || state === undefined) continue
      const name = STATES[state] ?? state
      counts[name] = (counts[name] ?? 0) + 1
    }
  }
  return counts
}

/** tcp6 is absent on a kernel without IPv6. */
function readTable(path: string): string[] {
  try {
    return readFileSync(path, 'utf8').split('\n').filter(Boolean)
  } catch {
    return []
  }
}
