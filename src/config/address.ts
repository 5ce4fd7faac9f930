/**
 * The address forms config accepts: `host:port` (a name, an IPv4 address or a bracketed IPv6
 * address), CIDR ranges, and the mesh's `CIDR[:port]` allow-list entries. Each reader returns a
 * value or a reason that quotes the input, so that schema checks and callers share one wording.
 */
import { isIP } from 'node:net'
import type { Read } from '../util/read.ts'
import type { AllowTarget, Cidr, HostPort } from './types.ts'

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/

export interface HostPortOptions {
  /** Binds may ask for port 0 (an ephemeral port); targets and peers may not. */
  readonly allowPortZero?: boolean
}

export function readHostPort(text: string, options: HostPortOptions = {}): Read<HostPort> {
  const quoted = JSON.stringify(text)
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(text)
  const plain = /^([^:[\]]*):([^:]*)$/.exec(text)
  const parts = bracketed ?? plain
  if (!parts) {
    const hint = isIP(text) === 6 ? ' (hint: bracket IPv6 addresses, e.g. "[::1]:8080")' : ''
    return { error: `expected host:port, got ${quoted}${hint}` }
  }
  const [, host = '', portText = ''] = parts
  if (bracketed && isIP(host) !== 6)
    return { error: `expected an IPv6 address inside brackets, got ${quoted}` }
  if (!bracketed && (!HOSTNAME.test(host) || (/^[\d.]+$/.test(host) && isIP(host) !== 4))) {
    return { error: `expected host:port with a host name or an IP address, got ${quoted}` }
  }
  const port = readPort(portText, options.allowPortZero === true)
  if ('error' in port) return { error: `${port.error} in ${quoted}` }
  return { value: { host, port: port.value } }
}

function readPort(text: string, allowZero: boolean): Read<number> {
  const min = allowZero ? 0 : 1
  const port = /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN
  if (!(port >= min && port <= 65535)) return { error: `port must be ${min}..65535, got "${text}"` }
  return { value: port }
}

/** Hosts that stand for every local address: a bind on one collides with any bind on its port. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]'
}

/** `10.0.0.0/8`, `2001:db8::/32`; a bare address is refused so that every range is explicit. */
export function readCidr(text: string): Read<Cidr> {
  const quoted = JSON.stringify(text)
  const slash = text.indexOf('/')
  const address = slash < 0 ? text : text.slice(0, slash)
  const version = isIP(address)
  if (version === 0)
    return { error: `expected a CIDR range such as "10.0.0.0/8" or "fd00::/8", got ${quoted}` }
  const max = version === 4 ? 32 : 128
  if (slash < 0) {
    return { error: `expected a CIDR range, got the address ${quoted} (hint: write "${text}/${max}")` }
  }
  const prefixText = text.slice(slash + 1)
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : Number.NaN
  if (!(prefix >= 0 && prefix <= max)) {
    return { error: `CIDR prefix length must be 0..${max}, got ${quoted}` }
  }
  return { value: { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' } }
}

/** A mesh allow-list entry: `CIDR` or `CIDR:port` (`10.0.0.0/8:443`, `fd00::/8:443`). */
export function readAllowTarget(text: string): Read<AllowTarget> {
  const m = /^(.*\/\d+):(\d*)$/.exec(text)
  const cidr = readCidr(m ? (m[1] ?? '') : text)
  if ('error' in cidr) return cidr
  if (!m) return { value: { cidr: cidr.value } }
  const port = readPort(m[2] ?? '', false)
  if ('error' in port) return { error: `${port.error} in ${JSON.stringify(text)}` }
  return { value: { cidr: cidr.value, port: port.value } }
}
