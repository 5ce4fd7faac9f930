import { isIP } from 'node:net'
import { PkiArgumentError } from '../errors/pki.ts'

/** The config's rule for node names (`common.node_id`, `peers[].name`): a certificate identity is one. */
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/
/** A DNS name for a SAN entry: labels of letters, digits and hyphens, optionally a leading wildcard. */
const DNS_NAME =
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
/** X.520 caps commonName at 64 characters; longer names make certificates some stacks reject. */
const MAX_COMMON_NAME = 64
/** 100 years: a longer validity is a typo, not a plan. */
const MAX_VALID_DAYS = 36_500

export function isNodeId(value: string): boolean {
  return NODE_ID.test(value) && value.length <= MAX_COMMON_NAME
}

export function assertNodeId(argument: string, value: string): void {
  if (!isNodeId(value)) {
    throw new PkiArgumentError(
      argument,
      value,
      `a node name matching [A-Za-z0-9][A-Za-z0-9._-]* of at most ${MAX_COMMON_NAME} characters`,
    )
  }
}

export function assertCaName(value: string, argument = 'CA name'): void {
  if (value.trim() === '' || value.length > MAX_COMMON_NAME) {
    throw new PkiArgumentError(argument, value, `a non-empty name of at most ${MAX_COMMON_NAME} characters`)
  }
}

export function assertValidDays(value: number, argument = 'validDays'): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_VALID_DAYS) {
    throw new PkiArgumentError(argument, value, `an integer from 1 to ${MAX_VALID_DAYS}`)
  }
}

export type SanEntry = { readonly type: 'dns' | 'ip'; readonly value: string }

/** An extra host for a node certificate: an IPv4/IPv6 address becomes an IP SAN, a name a DNS SAN. */
export function sanEntryOf(host: string): SanEntry {
  if (isIP(host) !== 0) return { type: 'ip', value: host }
  if (DNS_NAME.test(host) && host.length <= 253) return { type: 'dns', value: host }
  throw new PkiArgumentError('host', host, 'an IP address or a DNS name')
}
