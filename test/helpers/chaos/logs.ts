/**
 * What a chaos run reads from the nodes' JSON log lines: the ingress's access log (which path each
 * flow took, and why it ended) and every instruction set a node applied or loaded from its cache
 * (versions must only grow). Also the log budget: bytes per minute per process.
 */

export interface AccessEntry {
  /** The client's port, from `source`. */
  readonly sourcePort: number
  readonly atWallMs: number
  readonly target: string | undefined
  readonly reason: string | undefined
  readonly error: string | undefined
}

export type NodeLogEvent =
  | ({ readonly type: 'access' } & AccessEntry)
  | {
      readonly type: 'applied' | 'cached'
      readonly version: string
      readonly routes: number
      readonly atWallMs: number
    }

interface PinoLine {
  readonly msg?: unknown
  readonly time?: unknown
  readonly source?: unknown
  readonly target?: unknown
  readonly reason?: unknown
  readonly error?: unknown
  readonly version?: unknown
  readonly routes?: unknown
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** The events of one log line, or undefined for any other line (or one that is not JSON). */
export function parseNodeLine(line: string): NodeLogEvent | undefined {
  if (!line.startsWith('{')) return undefined
  let entry: PinoLine
  try {
    entry = JSON.parse(line) as PinoLine
  } catch {
    return undefined
  }
  const atWallMs = Date.parse(str(entry.time) ?? '')
  if (Number.isNaN(atWallMs)) return undefined
  if (entry.msg === 'flow closed') {
    const port = Number(/:(\d+)$/.exec(str(entry.source) ?? '')?.[1])
    if (!Number.isInteger(port)) return undefined
    return {
      type: 'access',
      sourcePort: port,
      atWallMs,
      target: str(entry.target),
      reason: str(entry.reason),
      error: str(entry.error),
    }
  }
  const version = str(entry.version)
  if (version === undefined || typeof entry.msg !== 'string') return undefined
  const routes = typeof entry.routes === 'number' ? entry.routes : -1
  if (entry.msg === 'instructions applied') return { type: 'applied', version, routes, atWallMs }
  if (entry.msg.startsWith('cached instructions loaded')) return { type: 'cached', version, routes, atWallMs }
  return undefined
}

/** `epoch.counter` → a pair that compares in order; undefined when malformed. */
export function versionPair(version: string): readonly [number, number] | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(version)
  return m ? [Number(m[1]), Number(m[2])] : undefined
}

function compare(a: readonly [number, number], b: readonly [number, number]): number {
  return a[0] - b[0] || a[1] - b[1]
}

/**
 * Every version each node took, in order: none may be older than one before it. The same version
 * again is fine: a replica re-sends the set in force after a failover (the node confirms it), and
 * a node loads it from its cache at a restart.
 */
export class VersionLedger {
  readonly #last = new Map<string, readonly [number, number]>()
  readonly regressions: string[] = []
  /** Sets with no route at all applied by the node that has listeners. */
  readonly emptyIngressSets: { readonly version: string; readonly atWallMs: number }[] = []
  readonly #ingress: string

  constructor(ingress: string) {
    this.#ingress = ingress
  }

  record(node: string, event: Extract<NodeLogEvent, { version: string }>): void {
    const pair = versionPair(event.version)
    if (pair === undefined) {
      this.regressions.push(`${node}: unreadable version ${event.version}`)
      return
    }
    const last = this.#last.get(node)
    if (last !== undefined) {
      if (compare(pair, last) < 0)
        this.regressions.push(`${node}: ${event.type} ${event.version} after ${last.join('.')}`)
    }
    if (last === undefined || compare(pair, last) > 0) this.#last.set(node, pair)
    if (node === this.#ingress && event.type === 'applied' && event.routes === 0)
      this.emptyIngressSets.push({ version: event.version, atWallMs: event.atWallMs })
  }
}

export type ByteSample = readonly [atMs: number, bytes: number]

const MINUTE_MS = 60_000

/**
 * The highest rate of output over any minute, in bytes per minute, from cumulative byte counts
 * sampled in time order. Each window runs from the earliest sample at most a minute before a
 * sample to it, scaled to a minute, and spans half a minute at least (a burst of start-up lines is
 * not a rate); a run shorter than that is one window.
 */
export function peakBytesPerMinute(samples: readonly ByteSample[]): number {
  if (samples.length < 2) return 0
  const total = (samples[samples.length - 1] as ByteSample)[0] - (samples[0] as ByteSample)[0]
  const shortest = Math.min(MINUTE_MS / 2, total)
  let peak = 0
  let start = 0
  for (const [at, bytes] of samples) {
    while (at - (samples[start] as ByteSample)[0] > MINUTE_MS) start++
    const [fromAt, fromBytes] = samples[start] as ByteSample
    const span = at - fromAt
    if (span > 0 && span >= shortest) peak = Math.max(peak, ((bytes - fromBytes) * MINUTE_MS) / span)
  }
  return peak
}
