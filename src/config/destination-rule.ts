/** `routes[].allow` entries as the config reads them: `CIDR`, `host` or `*.domain`, each with an optional `:port`. */
import { isIP } from 'node:net'
import { serverNamePatternProblem } from '../sni/match.ts'
import type { Read } from '../util/read.ts'
import { readAllowTarget } from './address.ts'
import type { DestinationRule } from './types.ts'

export function readDestinationRule(text: string): Read<DestinationRule> {
  const quoted = JSON.stringify(text)
  if (text.includes('/')) {
    const range = readAllowTarget(text)
    return 'error' in range ? range : { value: { kind: 'cidr', ...range.value } }
  }
  if (isIP(text) !== 0 || isIP(text.replace(/:\d*$/, '')) !== 0) {
    return { error: `an address in allow is written as a range, got ${quoted} (hint: "10.0.0.5/32:443")` }
  }
  const colon = text.lastIndexOf(':')
  const host = colon < 0 ? text : text.slice(0, colon)
  const problem = serverNamePatternProblem(host)
  if (problem !== undefined) {
    return { error: `expected CIDR, host or *.domain, with an optional :port, got ${quoted}: ${problem}` }
  }
  const pattern = host.toLowerCase()
  if (colon < 0) return { value: { kind: 'host', pattern } }
  const portText = text.slice(colon + 1)
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN
  if (!(port >= 1 && port <= 65535)) return { error: `port must be 1..65535, got "${portText}" in ${quoted}` }
  return { value: { kind: 'host', pattern, port } }
}
