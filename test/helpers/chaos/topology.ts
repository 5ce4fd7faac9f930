/**
 * The mesh a chaos run breaks: ingress `a`, relay `b`, egresses `c` and `d`, and the links between
 * them, each through a link emulator. The direct links are slow and the relayed ones fast, so the
 * scheduler's first choice goes through the relay, and every single node or link fault leaves at
 * least one working path (two egresses, and a direct and a relayed way to each).
 *
 *            ┌──── 30 ms ────▶ c ◀── 5 ms ──┐
 *   client ─▶ a ──── 5 ms ───▶ b              ├──▶ echo backend
 *            └──── 40 ms ────▶ d ◀── 8 ms ──┘
 */

export type ChaosNodeId = 'a' | 'b' | 'c' | 'd'

export const INGRESS: ChaosNodeId = 'a'
export const RELAY: ChaosNodeId = 'b'
export const EGRESSES: readonly ChaosNodeId[] = ['c', 'd']
export const CHAOS_NODES: readonly ChaosNodeId[] = ['a', 'b', 'c', 'd']

export interface ChaosLink {
  readonly from: ChaosNodeId
  readonly to: ChaosNodeId
  /** One-way delay the emulator adds. */
  readonly delayMs: number
}

export const CHAOS_LINKS: readonly ChaosLink[] = [
  { from: 'a', to: 'b', delayMs: 5 },
  { from: 'b', to: 'c', delayMs: 5 },
  { from: 'b', to: 'd', delayMs: 8 },
  { from: 'a', to: 'c', delayMs: 30 },
  { from: 'a', to: 'd', delayMs: 40 },
]

/** Services the scheduler routes from a's listeners of the same name to the echo backend. */
export const PROBE_SERVICE = 'probe'
export const STREAM_SERVICE = 'stream'

export function linkName(from: string, to: string): string {
  return `${from}>${to}`
}

/** What the fault timeline tracks: `node:<id>` and `link:<from>><to>`. */
export function nodeComponent(id: string): string {
  return `node:${id}`
}

export function linkComponent(from: string, to: string): string {
  return `link:${linkName(from, to)}`
}

/** Every loopless path from `from` to any of `to` over `links`, as node ids (first is `from`). */
export function meshPaths(
  from: string,
  to: readonly string[],
  links: readonly { readonly from: string; readonly to: string }[],
): string[][] {
  const out: string[][] = []
  const walk = (path: string[]): void => {
    const last = path[path.length - 1] as string
    if (to.includes(last) && path.length > 1) out.push(path)
    for (const l of links) if (l.from === last && !path.includes(l.to)) walk([...path, l.to])
  }
  walk([from])
  return out
}

/** The nodes and links a path needs alive: every node on it and every link between two of them. */
export function pathComponents(path: readonly string[]): string[] {
  const links = path.slice(1).map((to, i) => linkComponent(path[i] as string, to))
  return [...path.map(nodeComponent), ...links]
}

/** The paths a flow from the ingress may take to the backend in this mesh. */
export function chaosPaths(): string[][] {
  return meshPaths(INGRESS, EGRESSES, CHAOS_LINKS)
}
