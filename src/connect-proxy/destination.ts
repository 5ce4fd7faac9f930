/**
 * What a client of a `handshake` listener asks for: a destination as it named it (an IP address
 * or a host name, and a port), and the credentials it authenticates with.
 */
import { isIP } from 'node:net'

export interface Destination {
  /** An IP address (IPv6 without brackets) or a lower-case host name. */
  readonly host: string
  readonly port: number
}

export interface Credentials {
  readonly name: string
  readonly password: string
}

const HOST_NAME =
  /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/

/**
 * The host a client named, as dynproxy matches and logs it: IP addresses as they are (IPv6 in
 * brackets unwrapped), names lower-cased without a trailing dot; undefined for anything else,
 * an IPv6 zone index too (`%eth0`: it would choose this node's interface, and isIP takes any text
 * after the `%`).
 */
export function readDestinationHost(text: string): string | undefined {
  const unbracketed = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  if (unbracketed.includes('%')) return undefined
  if (isIP(unbracketed) !== 0) return unbracketed.toLowerCase()
  if (unbracketed !== text) return undefined
  const name = (text.endsWith('.') ? text.slice(0, -1) : text).toLowerCase()
  return HOST_NAME.test(name) ? name : undefined
}
