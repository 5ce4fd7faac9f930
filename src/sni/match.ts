/**
 * Server-name patterns of `routes[].match.sni`: `api.example.com` names one server;
 * `*.example.com` every name under example.com, at any depth, but not example.com itself.
 * Names compare without case (DNS names are case-insensitive; clients send them lower-cased).
 */

/** A host name of letters, digits, `-` and `_` labels, optionally with a leading `*.`. */
const PATTERN = /^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/

/** Why a pattern cannot match any server name; undefined when it is fine. */
export function serverNamePatternProblem(pattern: string): string | undefined {
  if (pattern.length > 253) return 'is longer than a DNS name (253)'
  if (!PATTERN.test(pattern.toLowerCase())) return 'is not a host name or *.domain'
  return undefined
}

/** A predicate over the flow's server name; a flow without one matches no pattern. */
export function serverNameMatcher(patterns: readonly string[]): (serverName: string | undefined) => boolean {
  const exact = new Set<string>()
  const suffixes: string[] = []
  for (const p of patterns) {
    const lower = p.toLowerCase()
    if (lower.startsWith('*.')) suffixes.push(lower.slice(1))
    else exact.add(lower)
  }
  return (serverName) => {
    if (serverName === undefined) return false
    const name = serverName.toLowerCase()
    return exact.has(name) || suffixes.some((suffix) => name.endsWith(suffix))
  }
}
