/**
 * Sockets this process holds open (connections and listening servers alike), read from
 * /proc/self/fd. Runtime-agnostic, unlike `process.getActiveResourcesInfo()`, which Bun answers
 * with an empty list: a leak test built on it would pass whatever leaked.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

export function openSockets(): number {
  let count = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:')) count++
    } catch {
      // Closed between the listing and the read (the listing's own fd among them).
    }
  }
  return count
}

/** The inodes of the sockets this process holds. */
function socketInodes(): Set<string> {
  const inodes = new Set<string>()
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const link = readlinkSync(`/proc/self/fd/${fd}`)
      if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1))
    } catch {
      // Closed between the listing and the read.
    }
  }
  return inodes
}

/**
 * TCP connections this process holds whose local port is `localPort` and whose peer's port is
 * one of `peerPorts`: what a server still keeps of the clients that left. Unlike a count of every
 * socket, other connections of the process (peer links reconnecting, probes) do not disturb it.
 */
export function heldConnections(localPort: number, peerPorts: ReadonlySet<number>): number {
  const ours = socketInodes()
  let held = 0
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let lines: string[]
    try {
      lines = readFileSync(table, 'utf8').split('\n').slice(1)
    } catch {
      continue
    }
    for (const line of lines) {
      const fields = line.trim().split(/\s+/)
      const [local, remote, inode] = [fields[1], fields[2], fields[9]]
      if (local === undefined || remote === undefined || inode === undefined) continue
      const port = (address: string) => Number.parseInt(address.slice(address.lastIndexOf(':') + 1), 16)
      if (port(local) === localPort && peerPorts.has(port(remote)) && ours.has(inode)) held++
    }
  }
  return held
}
