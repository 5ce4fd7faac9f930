/**
 * `routes[].allow`: where the clients of a `handshake` listener may ask to go. Pure.
 *
 * Entries are `CIDR`, `CIDR:port`, `host`, `*.domain`, each with an optional `:port`. A host
 * entry allows a name whatever it resolves to. A range allows addresses only: a name matched by
 * no host entry is resolved once by the node that connects, and the address it resolves to must
 * pass the ranges (`allow: [10.0.0.0/8]` is never bypassed by a name pointing elsewhere), and that
 * address, not the name, is connected to.
 */
import { BlockList, isIP, isIPv4 } from 'node:net'
import type { DestinationRule } from '../config/types.ts'

/** `allowed`: go; `denied`: refuse; `resolve`: a name only ranges may allow: check what it resolves to. */
export type DestinationVerdict = 'allowed' | 'denied' | 'resolve'

export interface DestinationFilter {
  /** The destination as the client named it. */
  check(host: string, port: number): DestinationVerdict
  /** The address a name resolved to, after `check` said `resolve`. */
  allowsAddress(address: string, port: number): boolean
}

interface CompiledRule {
  readonly port: number | undefined
  readonly hostMatches: ((name: string) => boolean) | undefined
  readonly range: BlockList | undefined
}

export function compileAllow(rules: readonly DestinationRule[]): DestinationFilter {
  const compiled = rules.map(compileRule)
  const portOk = (rule: CompiledRule, port: number) => rule.port === undefined || rule.port === port
  const allowsAddress = (address: string, port: number): boolean => {
    const forms = addressForms(address)
    return compiled.some(
      (r) => r.range !== undefined && portOk(r, port) && forms.some(([a, type]) => r.range?.check(a, type)),
    )
  }
  return {
    allowsAddress,
    check(host, port) {
      if (isIP(host) !== 0) return allowsAddress(host, port) ? 'allowed' : 'denied'
      // DNS names compare without case: API.example.com is the host an api.example.com entry allows.
      const name = host.toLowerCase()
      if (looksNumeric(name)) return 'denied'
      if (compiled.some((r) => r.hostMatches?.(name) === true && portOk(r, port))) return 'allowed'
      return compiled.some((r) => r.range !== undefined && portOk(r, port)) ? 'resolve' : 'denied'
    },
  }
}

function compileRule(rule: DestinationRule): CompiledRule {
  if (rule.kind === 'host') {
    const { pattern } = rule
    const hostMatches = pattern.startsWith('*.')
      ? (name: string) => name.endsWith(pattern.slice(1))
      : (name: string) => name === pattern
    return { port: rule.port, hostMatches, range: undefined }
  }
  const range = new BlockList()
  range.addSubnet(rule.cidr.address, rule.cidr.prefix, rule.cidr.family)
  return { port: rule.port, hostMatches: undefined, range }
}

const V4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i

/** An IPv4-mapped IPv6 address reaches the IPv4 host: it is checked against both families' ranges. */
function addressForms(address: string): [string, 'ipv4' | 'ipv6'][] {
  if (isIPv4(address)) return [[address, 'ipv4']]
  const mapped = V4_MAPPED.exec(address)?.[1]
  return mapped === undefined
    ? [[address, 'ipv6']]
    : [
        [address, 'ipv6'],
        [mapped, 'ipv4'],
      ]
}

/**
 * A name whose last label is a number is no DNS name: resolvers read it as an IPv4 address in
 * another notation (`167772161`, `0x0a.1`, `010.0.0.1`), which would let it past host entries.
 */
function looksNumeric(name: string): boolean {
  const last = name.slice(name.lastIndexOf('.') + 1)
  return /^(0x[0-9a-f]*|\d+)$/.test(last)
}
